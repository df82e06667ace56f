// official.mjs does what a user runs instead of sbdeploy: bundle with
// esbuild's JS API using the official CLI's (smply) options, gzip, and deploy
// with @statebacked/client's machineVersionMigrations.create.
//
//   node official.mjs --dir D --file F --machine M --from V1 --to V2 --api-url URL
//   node official.mjs --dir D --file F --bundle-only
//
// The token is STATEBACKED_TOKEN. It prints the migration ID (or, with
// --bundle-only, the bundle and gzip sizes).
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import path from "node:path";
import * as esbuild from "esbuild";
import { StateBackedClient } from "@statebacked/client";

const { values: a } = parseArgs({
  options: {
    dir: { type: "string" },
    file: { type: "string" },
    machine: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    "api-url": { type: "string" },
    "bundle-only": { type: "boolean", default: false },
  },
});

// The official CLI's options (API.md), with target es2022 so that both sides
// do the same work.
const result = await esbuild.build({
  absWorkingDir: path.resolve(a.dir),
  entryPoints: [a.file],
  bundle: true,
  write: false,
  outfile: "bundle.js",
  platform: "browser",
  format: "esm",
  target: "es2022",
  minify: true,
  keepNames: true,
  legalComments: "none",
  define: { "process.env.NODE_ENV": '"production"' },
  drop: ["debugger"],
  alias: { xstate: "npm:xstate" },
  external: ["npm:xstate", "npm:xstate/*"],
  logLevel: "silent",
});
const code = result.outputFiles[0].contents;
const gzippedCode = gzipSync(code);

if (a["bundle-only"]) {
  console.log(`bundle-bytes=${code.length} gzip-bytes=${gzippedCode.length}`);
} else {
  const client = new StateBackedClient(process.env.STATEBACKED_TOKEN, { apiHost: a["api-url"] });
  const res = await client.machineVersionMigrations.create(a.machine, {
    fromMachineVersionId: a.from,
    toMachineVersionId: a.to,
    gzippedCode,
  });
  console.log(`migration-id=${res.machineVersionMigrationId}`);
}
// esbuild's service process and undici's keep-alive sockets would otherwise
// hold the process open for seconds after the work is done.
await esbuild.stop();
process.exit(0);
