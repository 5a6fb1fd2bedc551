#!/usr/bin/env bash
# Builds test/ad/vectors/replicated-secret-vectors.json: replicated secret attribute values as a DC
# sends them in DRSGetNCChanges (MS-DRSR EncryptValuesIfNecessary), computed WITHOUT phsync's code,
# so the test that reads them checks our DES, RID layer and session-key layer against independent
# implementations:
#
#   - MD4 (NT hash), DES-ECB and RC4 come from the openssl command line (OpenSSL 3 keeps DES, RC4
#     and MD4 in the legacy provider, hence `-provider legacy -provider default`);
#   - MD5, CRC-32, the RID key derivation and the 7-to-8-byte DES key spreading are done in
#     python3's standard library (hashlib, zlib, int arithmetic), written from the specs
#     (MS-SAMR 2.2.11.1.2 and 2.2.11.1.3; MS-DRSR EncryptValuesIfNecessary), not from our TypeScript.
#
# Construction of one unicodePwd value:
#   ntHash            = MD4(UTF-16LE(password))
#   k                 = RID as 4 bytes little-endian
#   key1, key2        = spread7to8(k0 k1 k2 k3 k0 k1 k2), spread7to8(k3 k0 k1 k2 k3 k0 k1)
#   ridEncryptedHash  = DES-ECB(key1, ntHash[0..8]) ‖ DES-ECB(key2, ntHash[8..16])
#   value             = salt ‖ RC4(MD5(sessionKey ‖ salt), CRC32LE(ridEncryptedHash) ‖ ridEncryptedHash)
# A "generic" vector is the same session-key layer over arbitrary data (no RID layer), as for
# supplementalCredentials.
#
# Produced with: OpenSSL 3.0.x (Debian 12) and Python 3.11. Run from anywhere:
#   bash test/ad/vectors/make-replicated-secret-vectors.sh
# The output is deterministic (fixed keys and salts), so re-running it must not change the file.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/replicated-secret-vectors.json"
legacy=(-provider legacy -provider default)

hex2bin() { python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' "$1"; }
bin2hex() { python3 -c 'import sys; print(sys.stdin.buffer.read().hex())'; }

# Fail early, with a clear message, if this openssl cannot load the legacy provider.
# (FIPS 46-3 example: key 133457799BBCDFF1, plaintext 0123456789ABCDEF.)
if ! hex2bin 0123456789abcdef | openssl enc -des-ecb "${legacy[@]}" -K 133457799BBCDFF1 -nopad 2>/dev/null \
  | bin2hex | grep -qx 85e813540f0ab405; then
  echo "openssl cannot do DES-ECB with the legacy provider (or gives a wrong answer); see 'openssl version'" >&2
  exit 1
fi

nt_hash() { # password -> hex NT hash
  printf '%s' "$1" | iconv -f utf-8 -t utf-16le | openssl dgst -md4 "${legacy[@]}" -binary | bin2hex
}

des_ecb_encrypt() { # hex key8, hex block8 -> hex
  hex2bin "$2" | openssl enc -des-ecb "${legacy[@]}" -K "$1" -nopad | bin2hex
}

rc4() { # hex key16, hex data -> hex
  hex2bin "$2" | openssl enc -rc4 "${legacy[@]}" -K "$1" | bin2hex
}

rid_keys() { # rid -> "key1hex key2hex"
  python3 - "$1" <<'PY'
import struct, sys
k = struct.pack('<I', int(sys.argv[1], 0))
def spread(key7: bytes) -> str:
    # 56 bits, most significant first, cut into eight 7-bit groups; each becomes the high seven bits
    # of a byte, with the low (parity) bit 0.
    n = int.from_bytes(key7, 'big')
    return bytes(((n >> (49 - 7 * i)) & 0x7f) << 1 for i in range(8)).hex()
print(spread(bytes([k[0], k[1], k[2], k[3], k[0], k[1], k[2]])),
      spread(bytes([k[3], k[0], k[1], k[2], k[3], k[0], k[1]])))
PY
}

md5_key() { # hex sessionKey, hex salt -> hex
  python3 -c 'import hashlib, sys; print(hashlib.md5(bytes.fromhex(sys.argv[1]) + bytes.fromhex(sys.argv[2])).hexdigest())' "$1" "$2"
}

crc_prefixed() { # hex data -> hex (CRC-32 little-endian ‖ data)
  python3 -c 'import struct, sys, zlib; d = bytes.fromhex(sys.argv[1]); print((struct.pack("<I", zlib.crc32(d)) + d).hex())' "$1"
}

session_layer() { # hex sessionKey, hex salt, hex data -> hex value
  local key
  key="$(md5_key "$1" "$2")"
  printf '%s%s\n' "$2" "$(rc4 "$key" "$(crc_prefixed "$3")")"
}

records=()

add_unicode_pwd() { # name, password, rid, hex sessionKey, hex salt
  local name="$1" password="$2" rid="$3" skey="$4" salt="$5"
  local hash key1 key2 ridhash value
  hash="$(nt_hash "$password")"
  read -r key1 key2 <<<"$(rid_keys "$rid")"
  ridhash="$(des_ecb_encrypt "$key1" "${hash:0:16}")$(des_ecb_encrypt "$key2" "${hash:16:16}")"
  value="$(session_layer "$skey" "$salt" "$ridhash")"
  records+=("$(python3 -c 'import json, sys; print(json.dumps({"name": sys.argv[1], "kind": "unicodePwd", "password": sys.argv[2], "rid": int(sys.argv[3], 0), "sessionKey": sys.argv[4], "salt": sys.argv[5], "ntHash": sys.argv[6], "ridKey1": sys.argv[7], "ridKey2": sys.argv[8], "ridEncryptedHash": sys.argv[9], "value": sys.argv[10]}))' \
    "$name" "$password" "$rid" "$skey" "$salt" "$hash" "$key1" "$key2" "$ridhash" "$value")")
}

add_generic() { # name, hex sessionKey, hex salt, hex data
  local value
  value="$(session_layer "$2" "$3" "$4")"
  records+=("$(python3 -c 'import json, sys; print(json.dumps({"name": sys.argv[1], "kind": "generic", "sessionKey": sys.argv[2], "salt": sys.argv[3], "data": sys.argv[4], "value": sys.argv[5]}))' \
    "$1" "$2" "$3" "$4" "$value")")
}

add_unicode_pwd 'Password1! RID 500 (Administrator)' 'Password1!' 500 \
  000102030405060708090a0b0c0d0e0f a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
add_unicode_pwd 'empty password RID 1103' '' 1103 \
  8a1e5a3f0c2b7d9e11f0c4a6b3d2e5f7 5c1d9e0b2a7f3c8d4e6b1a0f9c2d8e7b
add_unicode_pwd 'Password1! RID 0x12345678, 32-byte session key' 'Password1!' 0x12345678 \
  fedcba98765432100123456789abcdeff0e1d2c3b4a5968778695a4b3c2d1e0f 00000000000000000000000000000000
add_unicode_pwd 'empty password RID 500 (same hash, other RID)' '' 500 \
  000102030405060708090a0b0c0d0e0f a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
add_unicode_pwd 'non-ASCII password RID 0xFFFFFFFF' 'Pässwörd€' 0xffffffff \
  5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f ffffffffffffffffffffffffffffffff
add_generic 'generic 37 bytes' 000102030405060708090a0b0c0d0e0f 0f0e0d0c0b0a09080706050403020100 \
  "$(printf 'supplementalCredentials-ish payload!!' | bin2hex)"
add_generic 'generic empty data' 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f ''

printf '%s\n' "${records[@]}" | python3 -c '
import json, sys
records = [json.loads(line) for line in sys.stdin if line.strip()]
doc = {
    "description": "MS-DRSR replicated secret attribute values, computed by make-replicated-secret-vectors.sh with openssl (MD4, DES-ECB, RC4) and python3 (MD5, CRC-32, RID key derivation), independently of phsync. Hex strings; rid is a number.",
    "vectors": records,
}
json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
print()
' >"$out"

echo "wrote ${#records[@]} vectors to $out" >&2
