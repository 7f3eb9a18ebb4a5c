// A whoami with a real session, from the installed npm packages (tests/packaging/install.sh,
// foreign.sh): a native registration (Kratos logs the new identity in), whoami with its session
// token, a made-up token refused, the identity deleted and then not found.
import crypto from 'node:crypto'
import { Iam, IamNotFoundError, IamUnauthorizedError } from 'ory-iam'

const iam = Iam.fromEnv()
const email = `whoami-${crypto.randomUUID().slice(0, 8)}@example.com`
const flow = await iam.flow.initiateRegistration()
const reg = await iam.flow.submitRegistration(flow.id, { method: 'password', password: `pw-${crypto.randomUUID()}`, traits: { email } })
if (reg.kind !== 'success') throw new Error(`registration: ${reg.kind}`)
const session = await iam.session.whoami({ authorization: `Bearer ${reg.sessionToken.expose()}` })
console.log('whoami:', session.identity.id === reg.identity.id && session.identity.traits.email === email, session.tenant)
try {
  await iam.session.whoami({ authorization: `Bearer ory_st_${crypto.randomUUID().replaceAll('-', '')}` })
  console.log('made-up token: accepted')
} catch (e) {
  console.log('made-up token:', e instanceof IamUnauthorizedError, e.code)
}
await iam.identity.delete(reg.identity.id)
await iam.identity.get(reg.identity.id).catch((e) => console.log('gone:', e instanceof IamNotFoundError, e.code))
await iam.close()
