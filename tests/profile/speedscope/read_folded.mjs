// SPDX-License-Identifier: MIT
//
// tests/profile/speedscope/read_folded.mjs - read a folded-stack file with
// speedscope's own importer (the npm package, pinned in package.json).
//
//   node read_folded.mjs FILE
//
// speedscope ships one browser bundle; its importer for the collapsed-stack
// format (what flamegraph.pl reads) is a function inside it.  This script
// finds that function by what it does (the only one that matches lines
// with /^(.*) (\d+)$/ and builds a profile from them), exposes it, runs
// the bundle with an inert stand-in for the browser, and imports FILE the
// way speedscope's UI does.  It prints, as JSON, the frames and total
// weight of the profile speedscope built, or fails (status 1) if
// speedscope could not import the file.
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const dir = path.join(path.dirname(require.resolve("speedscope/package.json")),
                      "dist", "release");
const bundle = fs.readdirSync(dir).find(f => /^speedscope-.*\.js$/.test(f));
let src = fs.readFileSync(path.join(dir, bundle), "utf8");

// function P(t){let e=[];for(let n of t.splitLines()){let a=/^(.*) (\d+)$/gm...
const parse = /function (\w+)\(t\)\{let e=\[\];for\(let n of t\.splitLines\(\)\)\{let a=\/\^\(\.\*\) \(\\d\+\)\$\/gm/.exec(src);
if (!parse) throw new Error("speedscope's collapsed-stack parser not found in " + bundle);
// function I(t){let e=P(t),...return a.build()}var INIT=re(()=>{...});
const imp = new RegExp("function (\\w+)\\(t\\)\\{let e=" + parse[1] +
                       "\\(t\\)[^]*?\\}var (\\w+)=\\w+\\(\\(\\)=>").exec(src);
if (!imp) throw new Error("speedscope's collapsed-stack importer not found");
src = src.replace('"use strict";(()=>{',
  '"use strict";(()=>{globalThis.__importCollapsed=(t)=>{' + imp[2] +
  '();return ' + imp[1] + '(t)};');

const inert = new Proxy(function () {}, {
  get: (t, k) => k === Symbol.toPrimitive ? () => "" : inert,
  apply: () => inert, construct: () => inert, set: () => true,
});
const ctx = { console: { log() {}, warn() {}, error() {} }, window: inert,
              document: inert, navigator: inert, location: inert, self: inert,
              setTimeout() {}, requestAnimationFrame() {},
              TextDecoder, TextEncoder };
ctx.globalThis = ctx;
vm.createContext(ctx);
try {
  vm.runInContext(src, ctx);
} catch (e) {
  // The UI cannot start without a browser; the importer is already out.
}
if (typeof ctx.__importCollapsed !== "function")
  throw new Error("could not reach speedscope's importer");
const text = fs.readFileSync(process.argv[2], "utf8");
process.on("uncaughtException", e => {
  console.error("speedscope: " + e);
  process.exit(1);
});
const profile = ctx.__importCollapsed({ splitLines: () => text.split("\n") });
if (!profile) {
  console.error("speedscope did not import " + process.argv[2]);
  process.exit(1);
}
const frames = [];
profile.forEachFrame(f => frames.push(f.name));
console.log(JSON.stringify({ frames, total: profile.getTotalWeight() }));
process.exit(0);	// the inert UI may have left callbacks behind
