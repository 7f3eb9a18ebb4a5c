'use strict'
// The config typings (`IamConfig` & co. in bindings-node/ory-iam.d.ts) cannot fall behind the
// config reader: the key paths the parameter of `Iam.fromConfig` can express, read with the
// TypeScript compiler, are exactly the paths the Rust core's reader accepts
// (`ory_iam::config::accepted_keys()`, tenants written `<name>`), each in snake_case and camelCase;
// and typed-config.ts, whose literals set every key, compiles and builds an Iam. Needs no servers.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const fs = require('node:fs')
const os = require('node:os')
const { execFileSync } = require('node:child_process')
const Module = require('node:module')
const ts = require('typescript')
const pkg = require('../../bindings-node/ory-iam.js')

const DTS = path.resolve(__dirname, '..', '..', 'bindings-node', 'ory-iam.d.ts')
const TYPED = path.join(__dirname, 'typed-config.ts')

const camel = (key) => key.replace(/_(.)/g, (_, c) => c.toUpperCase())

// Every spelling of the accepted paths: each key in snake_case or camelCase, level by level.
function acceptedSpellings() {
  const out = new Set()
  for (const key of pkg.native._acceptedConfigKeys()) {
    let forms = ['']
    for (const seg of key.split('.')) {
      const spellings = [...new Set([seg, seg === '<name>' ? seg : camel(seg)])]
      forms = forms.flatMap((f) => spellings.map((s) => (f ? `${f}.${s}` : s)))
    }
    forms.forEach((f) => out.add(f))
  }
  return out
}

// One program (typed-config.ts with the typings it imports), compiled and emitted in memory.
let compiled = null
function compile() {
  if (compiled) return compiled
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    strict: true,
    types: ['node'],
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  }
  const program = ts.createProgram([TYPED], options)
  let js = null
  const emit = program.emit(undefined, (name, text) => {
    if (name.endsWith('typed-config.js')) js = text
  })
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emit.diagnostics]
  const errors = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => __dirname, getNewLine: () => '\n' })
  compiled = { program, js, errors }
  return compiled
}

// The key paths a value of `type` can hold: properties, a string index as `<name>`, every member
// of a union; primitives, literals and arrays end a path.
// Keys whose value is a JSON document of its own (a JWK set), not config keys: walks stop there.
const OPAQUE = new Set(['tenants.<name>.oathkeeper.jwks.keys'])

function typePaths(checker, type, prefix = '', out = new Set(), depth = 0) {
  if (OPAQUE.has(prefix)) return out
  assert.ok(depth < 20, `${prefix}: the config type nests too deep (recursive?)`)
  type = checker.getNonNullableType(type)
  if (type.isUnion()) {
    for (const t of type.types) typePaths(checker, t, prefix, out, depth + 1)
    return out
  }
  if (!(type.flags & ts.TypeFlags.Object) || checker.isArrayType(type) || checker.isTupleType(type)) return out
  const byName = type.getStringIndexType()
  if (byName) typePaths(checker, byName, `${prefix}.<name>`, out, depth + 1)
  for (const p of checker.getPropertiesOfType(type)) {
    const at = prefix ? `${prefix}.${p.name}` : p.name
    out.add(at)
    typePaths(checker, checker.getTypeOfSymbol(p), at, out, depth + 1)
  }
  return out
}

function fromConfigParameter(program) {
  const checker = program.getTypeChecker()
  const dts = program.getSourceFile(DTS)
  assert.ok(dts, `${DTS} is not part of the program`)
  const iam = checker.getExportsOfModule(checker.getSymbolAtLocation(dts)).find((s) => s.name === 'Iam')
  const fromConfig = checker.getTypeOfSymbolAtLocation(iam, dts).getProperty('fromConfig')
  const [signature] = checker.getTypeOfSymbolAtLocation(fromConfig, dts).getCallSignatures()
  return { checker, type: checker.getTypeOfSymbolAtLocation(signature.parameters[0], dts) }
}

function assertSame(what, have, accepted) {
  const missing = [...accepted].filter((k) => !have.has(k)).sort()
  const extra = [...have].filter((k) => !accepted.has(k)).sort()
  assert.ok(
    missing.length === 0 && extra.length === 0,
    `${what} drifted from the config reader (core/src/config.rs); edit bindings-node/ory-iam.d.ts, ` +
      `bindings-python/python/ory_iam/config.py and docs/config.md:\n  accepted by the reader, missing here: ${missing.join(', ')}\n` +
      `  here, not accepted by the reader: ${extra.join(', ')}`,
  )
}

function valuePaths(v, prefix = '', out = new Set()) {
  for (const [key, value] of Object.entries(v)) {
    const at = prefix ? `${prefix}.${key}` : key
    out.add(at)
    if (at === 'tenants') for (const t of Object.values(value)) valuePaths(t, 'tenants.<name>', out)
    else if (value && typeof value === 'object' && !Array.isArray(value) && !OPAQUE.has(at)) valuePaths(value, at, out)
  }
  return out
}

test('the native module lists the accepted keys', () => {
  const keys = pkg.native._acceptedConfigKeys()
  assert.ok(keys.length > 40)
  assert.ok(keys.includes('tenants.<name>.http.timeout_ms') && keys.includes('session_cache.redis.url'))
})

test("fromConfig's config type names exactly the accepted keys, in both spellings", () => {
  const { checker, type } = fromConfigParameter(compile().program)
  assertSame('the config type of Iam.fromConfig', typePaths(checker, type), acceptedSpellings())
})

// ca.pem, client.pem and client.key for the typed configs' TLS keys: one self-signed certificate
// and its key (openssl), enough for files that are read and checked when an Iam is built.
function tlsFiles() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ory-iam-typed-'))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=ory-iam typed config', '-keyout', path.join(dir, 'client.key'), '-out', path.join(dir, 'ca.pem')], { stdio: 'ignore' })
  fs.copyFileSync(path.join(dir, 'ca.pem'), path.join(dir, 'client.pem'))
  return dir
}

test('typed-config.ts sets every accepted key and each of its configs builds an Iam', async () => {
  process.env.ORY_IAM_TYPED_TLS_DIR = tlsFiles()
  const m = new Module(TYPED.replace(/\.ts$/, '.js'), module)
  m.filename = m.id
  m.paths = Module._nodeModulePaths(__dirname)
  const { js, errors } = compile()
  assert.equal(errors, '', 'typed-config.ts does not compile')
  m._compile(js, m.filename)
  const { snakeConfig, camelConfig, clusterConfig, sentinelConfig } = m.exports
  const accepted = new Set(pkg.native._acceptedConfigKeys())
  const camelPaths = new Set([...valuePaths(camelConfig), ...valuePaths(sentinelConfig)])
  for (const p of camelPaths) assert.ok(!p.includes('_'), `camelConfig has a snake_case key: ${p}`)
  const asSnake = (p) => p.split('.').map((s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)).join('.')
  const snakePaths = [...valuePaths(snakeConfig), ...valuePaths(clusterConfig)]
  assertSame('typed-config.ts', new Set([...snakePaths, ...[...camelPaths].map(asSnake)]), accepted)
  // The typed value types (numbers, booleans, string arrays, literals) are what the reader takes:
  // building throws IamConfigurationError on anything it refuses.
  for (const config of [snakeConfig, camelConfig, clusterConfig, sentinelConfig]) {
    const iam = pkg.Iam.fromConfig(config)
    await iam.close()
  }
})
