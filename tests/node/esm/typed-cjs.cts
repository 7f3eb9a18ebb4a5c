// CommonJS users under `"module": "nodenext"`: `require` resolves through the `require`
// condition of package.json's exports (the .d.ts typings).
import iam = require('ory-iam')
import express = require('ory-iam/express')
import testing = require('ory-iam/testing')

export function cjsUsage(): boolean {
  const err: iam.IamError = new iam.IamNotFoundError('x')
  return err instanceof iam.IamError && typeof express.iamExpress === 'function' && typeof testing.FakeOry === 'function'
}
