// Compiles the package's Lightning web components (force-app/main/default/lwc, unchanged) with LWC OSS into
// one browser bundle, the Salesforce-only imports mapped to the adapters in preview/adapters/.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import lwc from '@lwc/rollup-plugin';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import replacePlugin from '@rollup/plugin-replace';
import { rollup, type Plugin } from 'rollup';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const PREVIEW_DIR = join(REPO_ROOT, 'preview');
export const DEFAULT_OUT_DIR = join(REPO_ROOT, 'var', 'preview');
export const BUNDLE_FILE = 'preview.js';
// The package's types describe its CommonJS build; under NodeNext the ESM default is the plugin itself.
const replace = replacePlugin as unknown as typeof replacePlugin.default;
const LWC_DIR = join(REPO_ROOT, 'force-app', 'main', 'default', 'lwc');
const ADAPTERS = join(PREVIEW_DIR, 'adapters');

/** Salesforce modules the preview replaces with a local module of the same API. */
const MODULE_ADAPTERS: Record<string, string> = {
  'lightning/uiRecordApi': 'uiRecordApi.js',
  'lightning/navigation': 'navigation.js',
  'lightning/platformShowToastEvent': 'toast.js',
  '@salesforce/apex': 'apex.js',
  '@salesforce/user/Id': 'user-id.js',
  'lightning/empApi': 'empApi.js',
};

const LABELS_FILE = join(REPO_ROOT, 'force-app', 'main', 'default', 'labels', 'CustomLabels.labels-meta.xml');

/** Custom Label values by name, from the package's CustomLabels file (the preview shows the real texts). */
function customLabels(): Map<string, string> {
  const xml = readFileSync(LABELS_FILE, 'utf8');
  const decode = (text: string) =>
    text
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  const labels = new Map<string, string>();
  for (const [, block = ''] of xml.matchAll(/<labels>([\s\S]*?)<\/labels>/g)) {
    const name = /<fullName>(.*?)<\/fullName>/.exec(block)?.[1];
    const value = /<value>([\s\S]*?)<\/value>/.exec(block)?.[1];
    if (name && value !== undefined) labels.set(name, decode(value));
  }
  return labels;
}

/** `c/<name>` for every component folder of the package. */
function packageComponents(): { name: string; path: string }[] {
  return readdirSync(LWC_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(LWC_DIR, entry.name, `${entry.name}.js`)))
    .map((entry) => ({ name: `c/${entry.name}`, path: join(LWC_DIR, entry.name, `${entry.name}.js`) }));
}

const VIRTUAL = '\0leadrank-preview:';

/**
 * `@salesforce/apex/<Class>.<method>` → the adapter's function wrapped as a callable wire adapter (or a
 * rejection naming the method when the preview has none); `@salesforce/schema/<Object>.<Field>` →
 * `{ objectApiName, fieldApiName }`, as the platform's field references.
 */
export function salesforceImports(): Plugin {
  return {
    name: 'leadrank-salesforce-imports',
    resolveId(source) {
      if (
        source.startsWith('@salesforce/apex/') ||
        source.startsWith('@salesforce/schema/') ||
        source.startsWith('@salesforce/label/c.')
      ) {
        return `${VIRTUAL}${source}`;
      }
      return null;
    },
    load(id) {
      if (!id.startsWith(VIRTUAL)) return null;
      const source = id.slice(VIRTUAL.length);
      if (source.startsWith('@salesforce/label/c.')) {
        const name = source.slice('@salesforce/label/'.length).replace(/^c\./, '');
        const value = customLabels().get(name);
        if (value === undefined) throw new Error(`${source}: no such Custom Label in ${LABELS_FILE}`);
        return `export default ${JSON.stringify(value)};\n`;
      }
      const apexFactory = JSON.stringify(join(ADAPTERS, 'apex.js'));
      if (source.startsWith('@salesforce/apex/')) {
        const [className = '', method = ''] = source.slice('@salesforce/apex/'.length).split('.');
        const file = join(ADAPTERS, 'apex', `${className}.js`);
        if (existsSync(file)) {
          return (
            `import { apexMethod } from ${apexFactory};\n` +
            `import { ${method} as call } from ${JSON.stringify(file)};\n` +
            'export default apexMethod(call);\n'
          );
        }
        const message = JSON.stringify(`${className}.${method} is not available in the local preview`);
        return (
          `import { apexMethod } from ${apexFactory};\n` +
          `export default apexMethod(() => Promise.reject({ body: { message: ${message} } }));\n`
        );
      }
      const path = source.slice('@salesforce/schema/'.length);
      const dot = path.indexOf('.');
      const reference =
        dot < 0
          ? { objectApiName: path }
          : { objectApiName: path.slice(0, dot), fieldApiName: path.slice(dot + 1) };
      return `export default ${JSON.stringify(reference)};\n`;
    },
  };
}

export interface PreviewBuild {
  outDir: string;
  bundleFile: string;
  components: string[];
  milliseconds: number;
}

/** Builds `<outDir>/preview.js` (default var/preview/). */
export async function buildPreview(
  options: { outDir?: string; minify?: boolean } = {},
): Promise<PreviewBuild> {
  const started = performance.now();
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  const components = packageComponents();
  const bundle = await rollup({
    input: join(PREVIEW_DIR, 'app', 'main.js'),
    plugins: [
      salesforceImports(),
      replace({
        preventAssignment: true,
        // import.meta.env.SSR: lightning-base-components' server-rendering switch (a Vite convention).
        values: { 'process.env.NODE_ENV': JSON.stringify('production'), 'import.meta.env.SSR': 'false' },
      }),
      lwc({
        rootDir: PREVIEW_DIR,
        enableDynamicComponents: true, // lightning-datatable's sorting modal uses lwc:is
        modules: [
          ...Object.entries(MODULE_ADAPTERS).map(([name, file]) => ({ name, path: join(ADAPTERS, file) })),
          ...components,
          { dir: join(PREVIEW_DIR, 'app', 'modules') },
          { npm: 'lightning-base-components' },
        ],
      }),
      nodeResolve({ browser: true }),
    ],
    onwarn(warning, warn) {
      // lightning-base-components use `this` at module level in a few helpers; harmless in a browser bundle.
      if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') return;
      // Template lint of Salesforce's own base components (duplicate slots, stray keys): not ours to fix.
      if (warning.id?.includes(`${join('node_modules', 'lightning-base-components')}`)) return;
      warn(warning);
    },
  });
  try {
    await bundle.write({
      dir: outDir,
      entryFileNames: BUNDLE_FILE,
      chunkFileNames: 'chunks/[name]-[hash].js',
      format: 'esm',
      sourcemap: true,
    });
  } finally {
    await bundle.close();
  }
  return {
    outDir,
    bundleFile: join(outDir, BUNDLE_FILE),
    components: components.map((c) => c.name),
    milliseconds: Math.round(performance.now() - started),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await buildPreview();
  console.log(JSON.stringify(result));
}
