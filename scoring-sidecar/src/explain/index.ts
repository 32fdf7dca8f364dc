// explain/: exact TreeSHAP over LightGBM models, and the reason texts account teams read.
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
