// Dependency rules for the product code, checked by `npm test` (scripts/test.mjs runs `npm run deps`).
//
// scoring-sidecar/src is a stack of stages (docs/architecture.md): a folder imports only from folders in LOWER
// stages (or itself), and from another folder only through that folder's index.ts; server.ts and cli.ts sit on
// top and nothing imports them. Product code never imports the org simulator or the CRM generator, and nothing
// in the product code or the two tools has a circular import. Type-only imports count: they are dependencies of
// the design even though they vanish at run time.
//
// Known violations: the tree is being restructured towards these rules; the violations present when the rules
// were added are listed in .dependency-cruiser-known-violations.json and ignored (`--ignore-known`), so the
// check fails on any NEW violation. As the code moves, fixed entries just stop matching. To regenerate the list
// (only after a deliberate decision to accept what it then holds):
//   npx depcruise-baseline scoring-sidecar/src org-simulator/src crm-generator/src \
//     --config .dependency-cruiser.mjs --output-to .dependency-cruiser-known-violations.json

/** Stages of scoring-sidecar/src, lowest first; folders on one line are on the same stage. */
const STAGES = [
  ['config', 'tracing'],
  ['inputs', 'salesforce'],
  ['store', 'shared-state'],
  ['features'],
  ['model'],
  ['explain'],
  ['scoring'],
  ['ranking'],
  ['audit'],
  ['monitoring'],
  ['experiments'],
  ['ingest', 'writeback'],
  ['batch'],
  ['retention', 'privacy'],
  ['api', 'dashboard'],
  ['commands'],
];

const SRC = '^scoring-sidecar/src/';
const TOP = `${SRC}[^/]+\\.[cm]?[jt]s$`; // server.ts, cli.ts

/** One rule per folder: nothing from its own stage's siblings, the stages above, or the top-level entry files. */
const stageRules = STAGES.flatMap((stage, level) =>
  stage.map((folder) => {
    const higher = STAGES.slice(level)
      .flat()
      .filter((other) => other !== folder);
    return {
      name: `stage-${folder}`,
      severity: 'error',
      comment: `${folder}/ is on stage ${level}: it may import only from lower stages (${STAGES.slice(0, level).flat().join(', ') || 'none'})`,
      from: { path: `${SRC}${folder}/` },
      to: { path: [`${SRC}(${higher.join('|')})/`, TOP] },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...stageRules,
    {
      name: 'through-index',
      severity: 'error',
      comment: "another folder's modules are reached only through its index.ts",
      from: { path: `${SRC}([^/]+)/` },
      to: { path: `${SRC}[^/]+/`, pathNot: [`${SRC}$1/`, `${SRC}[^/]+/index\\.ts$`] },
    },
    {
      name: 'entry-through-index',
      severity: 'error',
      // commands/ is the exception: cli.ts registers each command module with one import line (common layout:
      // commands/<name>.ts exports register<Name>Commands).
      comment:
        'server.ts and cli.ts reach the folders only through their index.ts (cli.ts: commands/* directly)',
      from: { path: TOP },
      to: { path: `${SRC}[^/]+/`, pathNot: [`${SRC}[^/]+/index\\.ts$`, `${SRC}commands/`] },
    },
    {
      name: 'no-simulator-or-generator-in-product',
      severity: 'error',
      comment:
        'the org simulator and the CRM generator are development tools: product code never imports them',
      // One stated exception: `build-training-set --ground-truth <generator folder>` adds the generator's
      // Bayes-optimal probabilities as an evaluation ceiling (simulated data only) through a dynamic import that
      // runs only when that flag is given; the product never loads the generator otherwise.
      from: { path: SRC, pathNot: `${SRC}commands/build-training-set\\.ts$` },
      to: { path: '^(org-simulator|crm-generator)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'a cycle means two modules cannot be understood, tested or moved apart',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
