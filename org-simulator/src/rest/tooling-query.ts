// Stands in for the Tooling API query resource, for the one query Leadrank makes there: the data classification
// of an object's fields (FieldDefinition.SecurityClassification / ComplianceGroup, which the sObject describe
// does not carry). Only `SELECT <fields> FROM FieldDefinition WHERE EntityDefinition.QualifiedApiName = '<o>'`
// is understood; anything else is answered as Salesforce answers an unsupported query (400, MALFORMED_QUERY).
import express, { type Router } from 'express';
import type { SimulatorContext } from '../context.js';
import { classificationOf } from '../schema/index.js';
import { ApiError } from './errors.js';

const SHAPE =
  /^\s*SELECT\s+([\w\s,]+?)\s+FROM\s+FieldDefinition\s+WHERE\s+EntityDefinition\.QualifiedApiName\s*=\s*'(\w+)'\s*$/i;
const COLUMNS = [
  'QualifiedApiName',
  'DeveloperName',
  'Label',
  'DataType',
  'SecurityClassification',
  'ComplianceGroup',
];

export function toolingQueryRouter(ctx: SimulatorContext): Router {
  const router = express.Router({ mergeParams: true });
  router.get('/query', (req, res) => {
    const q = typeof req.query.q === 'string' ? req.query.q : '';
    const match = SHAPE.exec(q);
    if (!match)
      throw new ApiError(400, 'MALFORMED_QUERY', 'the org simulator answers only FieldDefinition by object');
    const columns = match[1]!.split(',').map((c) => c.trim());
    for (const c of columns) {
      const known = COLUMNS.find((k) => k.toLowerCase() === c.toLowerCase());
      if (!known)
        throw new ApiError(400, 'INVALID_FIELD', `No such column '${c}' on entity 'FieldDefinition'`);
    }
    const object = ctx.schema.object(match[2]!);
    const records = (object?.fields ?? []).map((f) => {
      const c = classificationOf(f);
      const all: Record<string, unknown> = {
        QualifiedApiName: f.name,
        DeveloperName: f.name.replace(/__c$/, ''),
        Label: f.label,
        DataType: f.type,
        SecurityClassification: c.securityClassification,
        ComplianceGroup: c.complianceGroup,
      };
      return {
        attributes: { type: 'FieldDefinition' },
        ...Object.fromEntries(
          columns.map((col) => {
            const key = COLUMNS.find((k) => k.toLowerCase() === col.toLowerCase())!;
            return [key, all[key]];
          }),
        ),
      };
    });
    res.json({
      size: records.length,
      totalSize: records.length,
      done: true,
      entityTypeName: 'FieldDefinition',
      records,
    });
  });
  return router;
}
