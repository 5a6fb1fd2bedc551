import type { AttributeMapping } from '../attribute-mapping.ts';

/**
 * FreeIPA (389 Directory Server). The NT hash is ipaNTHash, 16 raw bytes, kept by FreeIPA's password
 * plugin for users of objectClass ipaNTUserAttrs once SIDs are enabled (ipa-adtrust-install, or
 * `ipa config-mod --enable-sid`) and their password has been set since. Reading it needs an ACI that
 * grants the sync account read on ipaNTHash. An entry without it (no password set since) is not
 * synced and is counted as passed over: the filter keeps such users in the stream, so they show in
 * the counts instead of being invisible.
 *
 * - anchor: ipaUniqueID (a UUID, immutable).
 * - user principal name: krbCanonicalName (single-valued, FreeIPA 4.5+), else krbPrincipalName (which
 *   also holds aliases, in no defined order), else mail. Kerberos realms are upper case
 *   (jdoe@EXAMPLE.COM); override `userPrincipalName` with ["mail"] when mail is the cloud sign-in name.
 * - disabled: nsAccountLock TRUE (`ipa user-disable`).
 * - password change time: krbLastPwdChange (GeneralizedTime).
 * - must change password: no clean equivalent, so none. FreeIPA has no flag: when an administrator
 *   sets a password it sets krbPasswordExpiration to the change time (expired at once), and a
 *   password past its policy lifetime is expired too; telling the two apart needs the clock and the
 *   policy, not one attribute. Users whose password an administrator reset are therefore synced
 *   with that temporary password, not skipped as `temporary-password`.
 */
export const freeipa: AttributeMapping = Object.freeze({
  preset: 'freeipa',
  anchor: Object.freeze({ attribute: 'ipauniqueid', encoding: 'text' as const }),
  userPrincipalName: Object.freeze(['krbcanonicalname', 'krbprincipalname', 'mail']),
  ntHash: Object.freeze({ from: 'attribute' as const, attribute: 'ipanthash', encoding: 'binary' as const }),
  disabled: Object.freeze({ kind: 'true-value' as const, attribute: 'nsaccountlock' }),
  passwordLastSet: Object.freeze({ attribute: 'krblastpwdchange', format: 'generalized-time' as const }),
  isUser: Object.freeze({ kind: 'has-nt-hash' as const }),
  filter: '(&(objectClass=posixAccount)(objectClass=ipaNTUserAttrs))',
});
