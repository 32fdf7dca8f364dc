// explain/: exact TreeSHAP over LightGBM models, exact linear SHAP over the logistic model, and the reason
// texts account teams read.
export { loadExplainer } from './load-explainer.js';
export {
  explanationKeyerFromDump,
  explanationSignatureFromDump,
  loadExplanationKeyer,
  type ExplanationKeyer,
  type ExplanationSignature,
} from './explanation-key.js';
export { isLinearDump, loadLinearExplainer } from './linear-shap.js';
export {
  EXPLAIN_BLOCK_ROWS,
  loadTreeExplainer,
  type ExplainAlgorithm,
  type TreeExplainer,
  type TreeExplainerOptions,
} from './tree-explainer.js';
export {
  loadReasonCatalogue,
  parseReasonCatalogue,
  featuresWithoutReasons,
  reasonsFor,
  ReasonCatalogueError,
  type Reason,
  type ReasonCatalogue,
  type ReasonsOptions,
} from './reasons.js';
export { CATEGORICAL, compileLightGbmDump, LEAF, ZERO_THRESHOLD } from './lightgbm-dump.js';
