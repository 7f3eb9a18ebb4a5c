'use strict'
// Compiles the TypeScript NestJS app a test serves (nestjs-app.ts) with the repo's TypeScript,
// type errors included. Shared by nestjs.test.js and nestjs-defaults.test.js.
const Module = require('node:module')
const ts = require('typescript')

// Type-check and emit in memory; the module is loaded as if it sat next to its source, so its
// relative imports and node_modules resolve as in the repo.
function compileTs(APP_TS) {
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    esModuleInterop: true,
    types: ['node'],
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  }
  const program = ts.createProgram([APP_TS], options)
  let js = null
  const emit = program.emit(undefined, (name, text) => {
    if (name.endsWith(require('node:path').basename(APP_TS).replace(/\.ts$/, '.js'))) js = text
  })
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emit.diagnostics]
  if (diagnostics.length) throw new Error(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => __dirname, getNewLine: () => '\n' }))
  const m = new Module(APP_TS.replace(/\.ts$/, '.js'), module)
  m.filename = m.id
  m.paths = Module._nodeModulePaths(__dirname)
  m._compile(js, m.filename)
  return m.exports
}

module.exports = { compileTs }
