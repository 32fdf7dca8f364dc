// One entry point for model.json: the LightGBM dump gets TreeSHAP, the logistic model linear SHAP. Both give
// SHAP values in log-odds with the same interface, so scoring and reasons need not know the model family.
import { readFileSync } from 'node:fs';
import { explanationSignatureFromDump } from './explanation-key.js';
import { isLinearDump, loadLinearExplainer } from './linear-shap.js';
import { loadTreeExplainer, type TreeExplainer, type TreeExplainerOptions } from './tree-explainer.js';

export function loadExplainer(source: unknown, options: TreeExplainerOptions = {}): TreeExplainer {
  const dump: unknown = typeof source === 'string' ? JSON.parse(readFileSync(source, 'utf8')) : source;
  const explainer = isLinearDump(dump)
    ? loadLinearExplainer(dump)
    : loadTreeExplainer(typeof source === 'string' ? source : dump, options);
  explainer.signatureOf = explanationSignatureFromDump(dump);
  return explainer;
}
