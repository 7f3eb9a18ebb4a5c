'use strict'
// A short tour of ory-iam from Node against the local stack (tests/stack/up).
const fs = require('node:fs')
const path = require('node:path')
const { Iam, IamNotFoundError } = require('../bindings-node/ory-iam.js')

async function main() {
  const stack = JSON.parse(fs.readFileSync(process.argv[2] || path.join(__dirname, '..', '.stack', 'stack.json'), 'utf8'))
  const iam = Iam.fromConfig(stack.iam_config)
  console.log('1. tenants', iam.tenants, 'default', iam.defaultTenant)
  const v = await iam.metadata.version()
  console.log(`2. kratos ${v.kratos} · keto ${v.keto} · hydra ${v.hydra}`)
  const created = await iam.identity.create({ schemaId: 'customer', traits: { email: `tour-js-${process.pid}@example.test` } })
  console.log('3. created', created.id)
  console.log('4. get().traits =', (await iam.identity.get(created.id)).traits, '· getWithTraits().traits =', (await iam.identity.getWithTraits(created.id)).traits)
  try {
    await iam.identity.forTenant('admin').get(created.id)
  } catch (e) {
    console.log('5. tenant admin:', e instanceof IamNotFoundError, e.code, e.status)
  }
  await iam.identity.delete(created.id)
  console.log('6. deleted')
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
