// Drives the Node `gigya` SDK (unmodified, from the npm registry) against a running gigya-mock.
// The SDK's public constructor takes a transport function; ours posts exactly what the SDK's
// own transport would post (the `request` package, form-encoded) to the mock instead of
// https://<namespace>.<dc>.gigya.com. Signatures are computed by the SDK as it always does:
// over https://accounts.us1.gigya.com/..., with millisecond timestamps.
//
// Environment: GIGYA_MOCK_URL, GIGYA_API_KEY, GIGYA_PARTNER_SECRET, GIGYA_USER_KEY,
// GIGYA_USER_SECRET, GIGYA_PRIVATE_KEY_FILE. Exit status 0 when every check passes.
'use strict';

const assert = require('assert');
const fs = require('fs');
const request = require('request');
const { Gigya } = require('gigya');

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return v;
};
const base = env('GIGYA_MOCK_URL');
const apiKey = env('GIGYA_API_KEY');
const partnerSecret = env('GIGYA_PARTNER_SECRET');
const userKey = env('GIGYA_USER_KEY');
const userSecret = env('GIGYA_USER_SECRET');
const privateKey = fs.readFileSync(env('GIGYA_PRIVATE_KEY_FILE'), 'utf8');

// The SDK's transport, pointed at the mock.
function toMock(endpoint, host, params, headers) {
  return new Promise((resolve, reject) => {
    request.post(`${base}/${endpoint}`, { form: params, headers }, (error, response, body) => {
      if (error) return reject(error);
      try {
        resolve(JSON.parse(body));
      } catch (e) {
        reject(new Error(`not JSON from ${endpoint}: ${body}`));
      }
    });
  });
}

const signed = new Gigya(apiKey, 'us1', toMock).setCredentials({ userKey, secret: userSecret });
const partner = new Gigya(apiKey, 'us1', toMock).setCredentials({ secret: partnerSecret });
const bearer = new Gigya(apiKey, 'us1', toMock).setCredentials({ userKey, privateKey });
const wrong = new Gigya(apiKey, 'us1', toMock).setCredentials({ userKey, secret: partnerSecret });

async function rejectsWith(promise, code) {
  try {
    await promise;
  } catch (e) {
    assert.strictEqual(e.errorCode, code, `expected ${code}, got ${e.errorCode}: ${e.message}`);
    return e;
  }
  throw new Error(`expected error ${code}, the call succeeded`);
}

const checks = [
  ['signed setAccountInfo merges data and profile', async () => {
    const r = await signed.accounts.setAccountInfo({
      UID: 'u-1',
      data: { car: 'Suzuki Alto', address: { zip: '00118' } },
      profile: { lastName: 'Rossi' },
      muteWebhooks: false, // signed as "" by the SDK, sent as "false"
    });
    assert.strictEqual(r.errorCode, 0);
    const info = await signed.accounts.getAccountInfo({ UID: 'u-1', include: 'profile,data' });
    assert.deepStrictEqual(info.data, { car: 'Suzuki Alto', address: { city: 'Rome', zip: '00118' }, tags: ['a', 'b'] });
    assert.strictEqual(info.profile.lastName, 'Rossi');
    assert.strictEqual(info.profile.firstName, 'Ann');
    assert.strictEqual(typeof info.createdTimestamp, 'number');
    assert.strictEqual(info.UIDSignature, undefined);
  }],
  ['partner secret in clear', async () => {
    const info = await partner.accounts.getAccountInfo({ UID: 'u-1' });
    assert.strictEqual(info.UID, 'u-1');
  }],
  ['RS256 bearer JWT', async () => {
    const info = await bearer.accounts.getAccountInfo({ UID: 'u-1' });
    assert.strictEqual(info.UID, 'u-1');
  }],
  ['socialize user info', async () => {
    await signed.socialize.setUserInfo({ UID: 'u-1', userInfo: { nickname: 'Annie', age: 30 } });
    const u = await signed.socialize.getUserInfo({ UID: 'u-1' });
    assert.strictEqual(u.nickname, 'Annie');
    assert.strictEqual(u.age, 30);
  }],
  ['socialize user settings', async () => {
    await signed.socialize.setUserSettings({
      UID: 'u-1',
      group: 'gigyaShareSettings',
      settings: { Like: { alwaysShare: true, neverShare: false, providers: 'facebook' } },
    });
    const s = await signed.socialize.getUserSettings({ UID: 'u-1', group: 'gigyaShareSettings' });
    assert.deepStrictEqual(s.settings, { Like: { alwaysShare: true, neverShare: false, providers: 'facebook' } });
    await signed.socialize.delUserSettings({ UID: 'u-1', group: 'gigyaShareSettings' });
    const gone = await signed.socialize.getUserSettings({ UID: 'u-1', group: 'gigyaShareSettings' });
    assert.deepStrictEqual(gone.settings, {});
  }],
  ['registration token flow', async () => {
    const { regToken } = await signed.accounts.initRegistration({ isLite: true });
    assert.ok(regToken);
    const r = await signed.accounts.setAccountInfo({ regToken, profile: { firstName: 'Lee' } });
    assert.ok(r.UID);
    const info = await partner.accounts.getAccountInfo({ UID: r.UID });
    assert.strictEqual(info.profile.firstName, 'Lee');
  }],
  ['validation errors reach the SDK error', async () => {
    const e = await rejectsWith(signed.accounts.setAccountInfo({ UID: 'u-1', profile: { birthMonth: 13 } }), 400009);
    assert.ok(e.message.includes('profile.birthMonth'), e.message);
  }],
  ['wrong secret is an invalid signature', async () => {
    await rejectsWith(wrong.accounts.getAccountInfo({ UID: 'u-1' }), 403003);
  }],
  ['deleted accounts are unknown', async () => {
    await signed.accounts.deleteAccount({ UID: 'u-2' });
    await rejectsWith(signed.accounts.getAccountInfo({ UID: 'u-2' }), 403005);
  }],
  ['methods the emulator lacks are permission denied', async () => {
    await rejectsWith(signed.accounts.login({ loginID: 'a@b.c', password: 'x' }), 403007);
  }],
];

(async () => {
  let passed = 0;
  let failed = 0;
  for (const [name, check] of checks) {
    try {
      await check();
      passed += 1;
      console.log(`ok - ${name}`);
    } catch (e) {
      failed += 1;
      console.log(`FAILED - ${name}: ${e && e.stack ? e.stack : e}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
