// Registers @sa11y/jest's toBeAccessible() matcher (axe-core with Salesforce's rule set).
import { registerSa11yMatcher } from '@sa11y/jest';

registerSa11yMatcher();
