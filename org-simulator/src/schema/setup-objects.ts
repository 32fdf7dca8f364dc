// Setup objects a package installer touches through the REST API (Salesforce Object Reference): permission
// sets, permission set groups and their assignments. Deploying metadata creates PermissionSet and
// PermissionSetGroup rows in a real org; here a test creates them through REST (both objects are
// createable there too). Only the fields the Leadrank installer reads are described.
import { auditFields, field, idField } from './field-builder.js';
import type { StandardObjectDef } from './standard-objects.js';

const ro = { readonly: true } as const;

const permissionSet: StandardObjectDef = {
  name: 'PermissionSet',
  label: 'Permission Set',
  labelPlural: 'Permission Sets',
  keyPrefix: '0PS',
  deletable: true,
  fields: [
    idField(),
    field('Name', 'string', { length: 80, required: true, idLookup: true }),
    field('Label', 'string', { length: 80, required: true }),
    field('NamespacePrefix', 'string', { length: 15, ...ro }),
    field('IsOwnedByProfile', 'boolean', { defaultValue: false, ...ro }),
    field('PermissionSetGroupId', 'reference', {
      label: 'Permission Set Group ID',
      referenceTo: ['PermissionSetGroup'],
      relationshipName: 'PermissionSetGroup',
    }),
    ...auditFields(),
  ],
};

const permissionSetGroup: StandardObjectDef = {
  name: 'PermissionSetGroup',
  label: 'Permission Set Group',
  labelPlural: 'Permission Set Groups',
  keyPrefix: '0PG',
  deletable: true,
  fields: [
    idField(),
    field('DeveloperName', 'string', { length: 80, required: true, idLookup: true }),
    field('MasterLabel', 'string', { length: 80, required: true }),
    field('NamespacePrefix', 'string', { length: 15, ...ro }),
    field('Status', 'picklist', {
      picklist: ['Updated', 'Outdated', 'Updating', 'Failed'],
      picklistDefault: 'Updated',
    }),
    ...auditFields(),
  ],
};

/** A user holds a permission set (PermissionSetId) or a group (PermissionSetGroupId), never both. */
const permissionSetAssignment: StandardObjectDef = {
  name: 'PermissionSetAssignment',
  label: 'Permission Set Assignment',
  labelPlural: 'Permission Set Assignments',
  keyPrefix: '0Pa',
  deletable: true,
  fields: [
    idField(),
    field('AssigneeId', 'reference', {
      label: 'Assignee ID',
      required: true,
      referenceTo: ['User'],
      relationshipName: 'Assignee',
    }),
    field('PermissionSetId', 'reference', {
      label: 'Permission Set ID',
      referenceTo: ['PermissionSet'],
      relationshipName: 'PermissionSet',
    }),
    field('PermissionSetGroupId', 'reference', {
      label: 'Permission Set Group ID',
      referenceTo: ['PermissionSetGroup'],
      relationshipName: 'PermissionSetGroup',
    }),
    ...auditFields(),
  ],
};

export const SETUP_OBJECTS: readonly StandardObjectDef[] = [
  permissionSet,
  permissionSetGroup,
  permissionSetAssignment,
];
