// The package as one browser module for the reference web client (entrypoints/web), which
// serves it from its own origin under its CSP (no bare imports, no CDN):
//   node scripts/bundle.mjs OUT_FILE
// It writes OUT_FILE and, beside it, OUT_FILE's stem + ".LICENSES.txt": the license of every
// npm package inside the bundle (MIT asks for its notice in every copy; the minified sources
// carry none). `make client-types` runs it after the types; tests/api/test_typescript_client.py
// checks the committed files equal a fresh build.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { build } from "esbuild";

const [outfile] = process.argv.slice(2);
if (!outfile) {
  console.error("usage: node scripts/bundle.mjs OUT_FILE");
  process.exit(2);
}
const licensesFile = outfile.replace(/\.js$/, "") + ".LICENSES.txt";
const result = await build({
  entryPoints: ["src/index.ts"],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2020",
  minify: true,
  legalComments: "inline",
  banner: {
    js:
      "// @flowhub/client (clients/typescript), bundled by scripts/bundle.mjs: do not edit.\n" +
      `// The licenses of the packages inside: ${basename(licensesFile)}`,
  },
  metafile: true,
  outfile,
  logLevel: "warning",
});

const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const found = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (found) packages.add(found[1]);
}
const notices = [...packages].sort().map((name) => {
  const dir = `node_modules/${name}`;
  const { version, license } = JSON.parse(readFileSync(`${dir}/package.json`, "utf8"));
  const text = readFileSync(`${dir}/LICENSE`, "utf8").trim();
  return `${name} ${version} (${license})\n\n${text}\n`;
});
writeFileSync(licensesFile, `Packages bundled into ${basename(outfile)}\n\n${notices.join("\n---\n\n")}`);
