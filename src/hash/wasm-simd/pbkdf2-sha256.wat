;; PBKDF2-HMAC-SHA256 for phsync's credentials, the whole iteration loop in WebAssembly.
;;
;;   hash = PBKDF2-HMAC-SHA256(key = 64 bytes, salt = 10 bytes, iterations, 32 bytes)
;;
;; The source of src/hash/wasm-simd/pbkdf2-sha256.wasm: build it with
;; `node src/hash/wasm-simd/build-wasm.ts` (wabt's wat2wasm with SIMD). Loaded by
;; src/hash/wasm-simd-kernel.ts, which copies a chunk of users into the areas below, calls
;; hashBatch, copies the hashes out and zeroes the areas again.
;;
;; Multi-buffer SIMD: a v128 holds the same 32-bit word of four users, one per i32x4 lane, so one
;; pass over the SHA-256 rounds hashes four users (hash4). A group of fewer than four users goes
;; through the scalar code (hash1), one user at a time; the JS side rounds a tail of two or three up
;; to a group of four instead, which is faster (see wasm-simd-kernel.ts).
;;
;; Shape of the computation, per user (RFC 8018 with one 32-byte block, RFC 2104, FIPS 180-4):
;;   - the key is exactly one 64-byte SHA-256 block, so HMAC's key pads reduce to two SHA-256
;;     states, computed once: ipad = compress(IV, key ^ 0x36..), opad = compress(IV, key ^ 0x5c..);
;;   - U1 = compress(opad, pad32(compress(ipad, salt || 00000001 || 0x80 || 0.. || 624)));
;;   - U(n+1) = compress(opad, pad32(compress(ipad, pad32(U(n))))), where pad32(x) is the 32 bytes
;;     of x followed by the padding of a 96-byte message: 0x80, zeros, bit length 768;
;;   - hash = U1 ^ U2 ^ ... ^ U(iterations), written big-endian.
;; Every compression of the loop is the same function with a different starting state (ipad or
;; opad) and the message already in W[0..7], so one compression body serves inner and outer HMAC.
;; The body is one round in a loop, the message schedule computed 16 rounds ahead inside it: small
;; code. Measured on x86-64 (V8 13.6): as fast as 2, 4 or 8 rounds per iteration, about 20% faster
;; than all 64 rounds unrolled, and faster than precomputing the schedule with the constant padding
;; words folded in. The vector code is bound by its ~50 vector instructions a round.
;;
;; Words are kept in native (little-endian) i32 order; bytes are swapped on the way in and out
;; (i8x16.swizzle for SIMD). WebAssembly has no vector rotate, so rotr(x, n) is
;; (x >>> n) | (x << 32 - n).
;;
;; Memory (one 64 KiB page, fixed layout, exported as globals for the JS side):
;;       0  K: the 64 round constants, i32
;;     256  IV: SHA-256's initial state, 8 x i32
;;     512  IV splatted: 8 x v128
;;    1024  scratch (secret: derived from the keys; the JS side zeroes [scratchPtr, scratchEnd)):
;;    1024    W, SIMD message schedule: 64 x v128
;;    2048    ipad state, 8 x v128;  2176 opad state, 8 x v128;  2304 T (running xor), 8 x v128
;;    2432    W, scalar message schedule: 64 x i32
;;    2688    ipad state, 8 x i32;   2720 opad state, 8 x i32;   2752 T, 8 x i32
;;    2784  end of scratch
;;    4096  inputs: 256 users x 64 bytes (secret; zeroed by the JS side after every chunk)
;;   20480  salts: 256 users x 10 bytes (bytes 8-9 of a salt are read as a 4-byte word, masked)
;;   23552  hashes: 256 users x 32 bytes (zeroed by the JS side after every chunk)
(module
  (memory (export "memory") 1)

  (global (export "inputPtr") i32 (i32.const 4096))
  (global (export "saltPtr") i32 (i32.const 20480))
  (global (export "outPtr") i32 (i32.const 23552))
  (global (export "chunkUsers") i32 (i32.const 256))
  (global (export "scratchPtr") i32 (i32.const 1024))
  (global (export "scratchEnd") i32 (i32.const 2784))

  ;; i8x16.swizzle indices that reverse the bytes of each 32-bit lane (big-endian <-> native)
  (global $bswap v128 (v128.const i8x16 3 2 1 0 7 6 5 4 11 10 9 8 15 14 13 12))

  ;; K, little-endian i32
  (data (i32.const 0)
    "\98\2f\8a\42\91\44\37\71\cf\fb\c0\b5\a5\db\b5\e9\5b\c2\56\39\f1\11\f1\59\a4\82\3f\92\d5\5e\1c\ab"
    "\98\aa\07\d8\01\5b\83\12\be\85\31\24\c3\7d\0c\55\74\5d\be\72\fe\b1\de\80\a7\06\dc\9b\74\f1\9b\c1"
    "\c1\69\9b\e4\86\47\be\ef\c6\9d\c1\0f\cc\a1\0c\24\6f\2c\e9\2d\aa\84\74\4a\dc\a9\b0\5c\da\88\f9\76"
    "\52\51\3e\98\6d\c6\31\a8\c8\27\03\b0\c7\7f\59\bf\f3\0b\e0\c6\47\91\a7\d5\51\63\ca\06\67\29\29\14"
    "\85\0a\b7\27\38\21\1b\2e\fc\6d\2c\4d\13\0d\38\53\54\73\0a\65\bb\0a\6a\76\2e\c9\c2\81\85\2c\72\92"
    "\a1\e8\bf\a2\4b\66\1a\a8\70\8b\4b\c2\a3\51\6c\c7\19\e8\92\d1\24\06\99\d6\85\35\0e\f4\70\a0\6a\10"
    "\16\c1\a4\19\08\6c\37\1e\4c\77\48\27\b5\bc\b0\34\b3\0c\1c\39\4a\aa\d8\4e\4f\ca\9c\5b\f3\6f\2e\68"
    "\ee\82\8f\74\6f\63\a5\78\14\78\c8\84\08\02\c7\8c\fa\ff\be\90\eb\6c\50\a4\f7\a3\f9\be\f2\78\71\c6")
  ;; IV, little-endian i32
  (data (i32.const 256)
    "\67\e6\09\6a\85\ae\67\bb\72\f3\6e\3c\3a\f5\4f\a5\7f\52\0e\51\8c\68\05\9b\ab\d9\83\1f\19\cd\e0\5b")
  ;; IV, each word in all four lanes
  (data (i32.const 512)
    "\67\e6\09\6a\67\e6\09\6a\67\e6\09\6a\67\e6\09\6a\85\ae\67\bb\85\ae\67\bb\85\ae\67\bb\85\ae\67\bb"
    "\72\f3\6e\3c\72\f3\6e\3c\72\f3\6e\3c\72\f3\6e\3c\3a\f5\4f\a5\3a\f5\4f\a5\3a\f5\4f\a5\3a\f5\4f\a5"
    "\7f\52\0e\51\7f\52\0e\51\7f\52\0e\51\7f\52\0e\51\8c\68\05\9b\8c\68\05\9b\8c\68\05\9b\8c\68\05\9b"
    "\ab\d9\83\1f\ab\d9\83\1f\ab\d9\83\1f\ab\d9\83\1f\19\cd\e0\5b\19\cd\e0\5b\19\cd\e0\5b\19\cd\e0\5b")

  ;; One SHA-256 compression of four blocks at once, one per lane. The starting state (8 x v128) is
  ;; read from $src, the message from W[0..15] (at 1024); W[16..63] are overwritten. The result
  ;; (state + compressed, the "feed-forward") is written to $dst, which may be W[0..7] itself.
  (func $compress4 (param $src i32) (param $dst i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local $e v128) (local $f v128) (local $g v128) (local $h v128)
    (local $t1 v128) (local $t2 v128) (local $ab v128) (local $bc v128)
    (local $s0 v128) (local $s1 v128) (local $x v128)
    (local $t i32)
    (local.set $a (v128.load offset=0 (local.get $src)))
    (local.set $b (v128.load offset=16 (local.get $src)))
    (local.set $c (v128.load offset=32 (local.get $src)))
    (local.set $d (v128.load offset=48 (local.get $src)))
    (local.set $e (v128.load offset=64 (local.get $src)))
    (local.set $f (v128.load offset=80 (local.get $src)))
    (local.set $g (v128.load offset=96 (local.get $src)))
    (local.set $h (v128.load offset=112 (local.get $src)))
    (local.set $bc (v128.xor (local.get $b) (local.get $c)))
    ;; $t = 16 x the round number: the byte offset of W[t] from W[0]
    (local.set $t (i32.const 0))
    (loop $round
      ;; the message schedule, 16 rounds ahead of its use (rounds 0..47 compute W[16..63])
      (if (i32.lt_u (local.get $t) (i32.const 768))
        (then
          ;; W[t+16] = σ1(W[t+14]) + W[t+9] + σ0(W[t+1]) + W[t]
          (local.set $x (v128.load offset=1248 (local.get $t)))
          (local.set $s1
            (v128.xor
              (v128.xor
                (v128.or (i32x4.shr_u (local.get $x) (i32.const 17)) (i32x4.shl (local.get $x) (i32.const 15)))
                (v128.or (i32x4.shr_u (local.get $x) (i32.const 19)) (i32x4.shl (local.get $x) (i32.const 13))))
              (i32x4.shr_u (local.get $x) (i32.const 10))))
          (local.set $x (v128.load offset=1040 (local.get $t)))
          (local.set $s0
            (v128.xor
              (v128.xor
                (v128.or (i32x4.shr_u (local.get $x) (i32.const 7)) (i32x4.shl (local.get $x) (i32.const 25)))
                (v128.or (i32x4.shr_u (local.get $x) (i32.const 18)) (i32x4.shl (local.get $x) (i32.const 14))))
              (i32x4.shr_u (local.get $x) (i32.const 3))))
          (v128.store offset=1280 (local.get $t)
            (i32x4.add
              (i32x4.add (local.get $s1) (v128.load offset=1168 (local.get $t)))
              (i32x4.add (local.get $s0) (v128.load offset=1024 (local.get $t)))))))
      ;; T1 = h + K[t] + W[t] + Σ1(e) + Ch(e, f, g), where Ch(e, f, g) = bitselect(f, g, e)
      (local.set $s1
        (v128.xor
          (v128.xor
            (v128.or (i32x4.shr_u (local.get $e) (i32.const 6)) (i32x4.shl (local.get $e) (i32.const 26)))
            (v128.or (i32x4.shr_u (local.get $e) (i32.const 11)) (i32x4.shl (local.get $e) (i32.const 21))))
          (v128.or (i32x4.shr_u (local.get $e) (i32.const 25)) (i32x4.shl (local.get $e) (i32.const 7)))))
      (local.set $t1
        (i32x4.add
          (i32x4.add (local.get $h)
            (i32x4.add
              (v128.load32_splat offset=0 (i32.shr_u (local.get $t) (i32.const 2)))
              (v128.load offset=1024 (local.get $t))))
          (i32x4.add (local.get $s1) (v128.bitselect (local.get $f) (local.get $g) (local.get $e)))))
      ;; T2 = Σ0(a) + Maj(a, b, c), where Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)): this round's a ^ b is
      ;; the next round's b ^ c
      (local.set $s0
        (v128.xor
          (v128.xor
            (v128.or (i32x4.shr_u (local.get $a) (i32.const 2)) (i32x4.shl (local.get $a) (i32.const 30)))
            (v128.or (i32x4.shr_u (local.get $a) (i32.const 13)) (i32x4.shl (local.get $a) (i32.const 19))))
          (v128.or (i32x4.shr_u (local.get $a) (i32.const 22)) (i32x4.shl (local.get $a) (i32.const 10)))))
      (local.set $ab (v128.xor (local.get $a) (local.get $b)))
      (local.set $t2 (i32x4.add (local.get $s0) (v128.xor (local.get $b) (v128.and (local.get $ab) (local.get $bc)))))
      (local.set $bc (local.get $ab))
      (local.set $h (local.get $g))
      (local.set $g (local.get $f))
      (local.set $f (local.get $e))
      (local.set $e (i32x4.add (local.get $d) (local.get $t1)))
      (local.set $d (local.get $c))
      (local.set $c (local.get $b))
      (local.set $b (local.get $a))
      (local.set $a (i32x4.add (local.get $t1) (local.get $t2)))
      (br_if $round (i32.lt_u (local.tee $t (i32.add (local.get $t) (i32.const 16))) (i32.const 1024))))
    (v128.store offset=0 (local.get $dst) (i32x4.add (local.get $a) (v128.load offset=0 (local.get $src))))
    (v128.store offset=16 (local.get $dst) (i32x4.add (local.get $b) (v128.load offset=16 (local.get $src))))
    (v128.store offset=32 (local.get $dst) (i32x4.add (local.get $c) (v128.load offset=32 (local.get $src))))
    (v128.store offset=48 (local.get $dst) (i32x4.add (local.get $d) (v128.load offset=48 (local.get $src))))
    (v128.store offset=64 (local.get $dst) (i32x4.add (local.get $e) (v128.load offset=64 (local.get $src))))
    (v128.store offset=80 (local.get $dst) (i32x4.add (local.get $f) (v128.load offset=80 (local.get $src))))
    (v128.store offset=96 (local.get $dst) (i32x4.add (local.get $g) (v128.load offset=96 (local.get $src))))
    (v128.store offset=112 (local.get $dst) (i32x4.add (local.get $h) (v128.load offset=112 (local.get $src)))))

  ;; The same compression for one block, scalar: state from $src (8 x i32), message in W[0..15] (at
  ;; 2432), result to $dst.
  (func $compress1 (param $src i32) (param $dst i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32) (local $h i32)
    (local $t1 i32) (local $t2 i32) (local $ab i32) (local $bc i32)
    (local $s0 i32) (local $s1 i32) (local $x i32)
    (local $t i32)
    (local.set $a (i32.load offset=0 (local.get $src)))
    (local.set $b (i32.load offset=4 (local.get $src)))
    (local.set $c (i32.load offset=8 (local.get $src)))
    (local.set $d (i32.load offset=12 (local.get $src)))
    (local.set $e (i32.load offset=16 (local.get $src)))
    (local.set $f (i32.load offset=20 (local.get $src)))
    (local.set $g (i32.load offset=24 (local.get $src)))
    (local.set $h (i32.load offset=28 (local.get $src)))
    (local.set $bc (i32.xor (local.get $b) (local.get $c)))
    ;; $t = 4 x the round number: the byte offset of W[t] from W[0], and of K[t] from K[0]
    (local.set $t (i32.const 0))
    (loop $round
      (if (i32.lt_u (local.get $t) (i32.const 192))
        (then
          ;; W[t+16] = σ1(W[t+14]) + W[t+9] + σ0(W[t+1]) + W[t]
          (local.set $x (i32.load offset=2488 (local.get $t)))
          (local.set $s1
            (i32.xor
              (i32.xor (i32.rotr (local.get $x) (i32.const 17)) (i32.rotr (local.get $x) (i32.const 19)))
              (i32.shr_u (local.get $x) (i32.const 10))))
          (local.set $x (i32.load offset=2436 (local.get $t)))
          (local.set $s0
            (i32.xor
              (i32.xor (i32.rotr (local.get $x) (i32.const 7)) (i32.rotr (local.get $x) (i32.const 18)))
              (i32.shr_u (local.get $x) (i32.const 3))))
          (i32.store offset=2496 (local.get $t)
            (i32.add
              (i32.add (local.get $s1) (i32.load offset=2468 (local.get $t)))
              (i32.add (local.get $s0) (i32.load offset=2432 (local.get $t)))))))
      ;; T1 = h + K[t] + W[t] + Σ1(e) + Ch(e, f, g), where Ch(e, f, g) = g ^ (e & (f ^ g))
      (local.set $s1
        (i32.xor
          (i32.xor (i32.rotr (local.get $e) (i32.const 6)) (i32.rotr (local.get $e) (i32.const 11)))
          (i32.rotr (local.get $e) (i32.const 25))))
      (local.set $t1
        (i32.add
          (i32.add (local.get $h) (i32.add (i32.load offset=0 (local.get $t)) (i32.load offset=2432 (local.get $t))))
          (i32.add (local.get $s1)
            (i32.xor (local.get $g) (i32.and (local.get $e) (i32.xor (local.get $f) (local.get $g)))))))
      ;; T2 = Σ0(a) + Maj(a, b, c), Maj as in compress4
      (local.set $s0
        (i32.xor
          (i32.xor (i32.rotr (local.get $a) (i32.const 2)) (i32.rotr (local.get $a) (i32.const 13)))
          (i32.rotr (local.get $a) (i32.const 22))))
      (local.set $ab (i32.xor (local.get $a) (local.get $b)))
      (local.set $t2 (i32.add (local.get $s0) (i32.xor (local.get $b) (i32.and (local.get $ab) (local.get $bc)))))
      (local.set $bc (local.get $ab))
      (local.set $h (local.get $g))
      (local.set $g (local.get $f))
      (local.set $f (local.get $e))
      (local.set $e (i32.add (local.get $d) (local.get $t1)))
      (local.set $d (local.get $c))
      (local.set $c (local.get $b))
      (local.set $b (local.get $a))
      (local.set $a (i32.add (local.get $t1) (local.get $t2)))
      (br_if $round (i32.lt_u (local.tee $t (i32.add (local.get $t) (i32.const 4))) (i32.const 256))))
    (i32.store offset=0 (local.get $dst) (i32.add (local.get $a) (i32.load offset=0 (local.get $src))))
    (i32.store offset=4 (local.get $dst) (i32.add (local.get $b) (i32.load offset=4 (local.get $src))))
    (i32.store offset=8 (local.get $dst) (i32.add (local.get $c) (i32.load offset=8 (local.get $src))))
    (i32.store offset=12 (local.get $dst) (i32.add (local.get $d) (i32.load offset=12 (local.get $src))))
    (i32.store offset=16 (local.get $dst) (i32.add (local.get $e) (i32.load offset=16 (local.get $src))))
    (i32.store offset=20 (local.get $dst) (i32.add (local.get $f) (i32.load offset=20 (local.get $src))))
    (i32.store offset=24 (local.get $dst) (i32.add (local.get $g) (i32.load offset=24 (local.get $src))))
    (i32.store offset=28 (local.get $dst) (i32.add (local.get $h) (i32.load offset=28 (local.get $src)))))

  ;; PBKDF2 for the four users at $in (4 x 64 bytes), $salt (4 x 10 bytes); hashes to $out (4 x 32
  ;; bytes). $iterations >= 1, unsigned.
  (func $hash4 (export "hash4") (param $in i32) (param $salt i32) (param $out i32) (param $iterations i32)
    (local $j i32) (local $v v128)
    ;; W[j] = key word j of each user, big-endian, ^ 0x36363636 (HMAC's ipad)
    (local.set $j (i32.const 0))
    (loop $key
      (local.set $v (v128.load32_zero (i32.add (local.get $in) (local.get $j))))
      (local.set $v (v128.load32_lane offset=64 1 (i32.add (local.get $in) (local.get $j)) (local.get $v)))
      (local.set $v (v128.load32_lane offset=128 2 (i32.add (local.get $in) (local.get $j)) (local.get $v)))
      (local.set $v (v128.load32_lane offset=192 3 (i32.add (local.get $in) (local.get $j)) (local.get $v)))
      (v128.store offset=1024 (i32.shl (local.get $j) (i32.const 2))
        (v128.xor
          (i8x16.swizzle (local.get $v) (global.get $bswap))
          (v128.const i32x4 0x36363636 0x36363636 0x36363636 0x36363636)))
      (br_if $key (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 4))) (i32.const 64))))
    (call $compress4 (i32.const 512) (i32.const 2048))
    ;; W[0..15] are still key ^ ipad; ^ (0x36 ^ 0x5c) makes them key ^ opad
    (local.set $j (i32.const 0))
    (loop $opad
      (v128.store offset=1024 (local.get $j)
        (v128.xor
          (v128.load offset=1024 (local.get $j))
          (v128.const i32x4 0x6a6a6a6a 0x6a6a6a6a 0x6a6a6a6a 0x6a6a6a6a)))
      (br_if $opad (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 16))) (i32.const 256))))
    (call $compress4 (i32.const 512) (i32.const 2176))

    ;; U1's inner block: salt (10 bytes) || 00 00 00 01 || 80 || zeros || bit length (64 + 14) * 8.
    ;; W[0..2] from the salts (W[2]'s last two bytes belong to the next salt: masked off).
    (local.set $j (i32.const 0))
    (loop $salt
      (local.set $v (v128.load32_zero (i32.add (local.get $salt) (local.get $j))))
      (local.set $v (v128.load32_lane offset=10 1 (i32.add (local.get $salt) (local.get $j)) (local.get $v)))
      (local.set $v (v128.load32_lane offset=20 2 (i32.add (local.get $salt) (local.get $j)) (local.get $v)))
      (local.set $v (v128.load32_lane offset=30 3 (i32.add (local.get $salt) (local.get $j)) (local.get $v)))
      (v128.store offset=1024 (i32.shl (local.get $j) (i32.const 2))
        (i8x16.swizzle (local.get $v) (global.get $bswap)))
      (br_if $salt (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 4))) (i32.const 12))))
    (v128.store offset=1056 (i32.const 0)
      (v128.and (v128.load offset=1056 (i32.const 0)) (v128.const i32x4 0xffff0000 0xffff0000 0xffff0000 0xffff0000)))
    (v128.store offset=1072 (i32.const 0) (v128.const i32x4 0x00018000 0x00018000 0x00018000 0x00018000))
    (local.set $j (i32.const 64))
    (loop $zeros
      (v128.store offset=1024 (local.get $j) (v128.const i64x2 0 0))
      (br_if $zeros (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 16))) (i32.const 240))))
    (v128.store offset=1264 (i32.const 0) (v128.const i32x4 624 624 624 624))
    (call $compress4 (i32.const 2048) (i32.const 1024))

    ;; From here on every block is pad32: W[0..7] = the previous digest (written there by
    ;; compress4), W[8] = 0x80000000, W[9..14] = 0 (zeroed above), W[15] = (64 + 32) * 8.
    (v128.store offset=1152 (i32.const 0) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
    (v128.store offset=1264 (i32.const 0) (v128.const i32x4 768 768 768 768))
    (call $compress4 (i32.const 2176) (i32.const 1024))
    ;; T = U1
    (local.set $j (i32.const 0))
    (loop $t
      (v128.store offset=2304 (local.get $j) (v128.load offset=1024 (local.get $j)))
      (br_if $t (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 16))) (i32.const 128))))
    (block $done
      (loop $iteration
        (br_if $done (i32.le_u (local.get $iterations) (i32.const 1)))
        (call $compress4 (i32.const 2048) (i32.const 1024))
        (call $compress4 (i32.const 2176) (i32.const 1024))
        ;; T ^= U
        (local.set $j (i32.const 0))
        (loop $xor
          (v128.store offset=2304 (local.get $j)
            (v128.xor (v128.load offset=2304 (local.get $j)) (v128.load offset=1024 (local.get $j))))
          (br_if $xor (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 16))) (i32.const 128))))
        (local.set $iterations (i32.sub (local.get $iterations) (i32.const 1)))
        (br $iteration)))

    ;; out[32 u + 4 j] = word j of user u, big-endian
    (local.set $j (i32.const 0))
    (loop $out
      (local.set $v
        (i8x16.swizzle (v128.load offset=2304 (i32.shl (local.get $j) (i32.const 2))) (global.get $bswap)))
      (v128.store32_lane 0 (i32.add (local.get $out) (local.get $j)) (local.get $v))
      (v128.store32_lane offset=32 1 (i32.add (local.get $out) (local.get $j)) (local.get $v))
      (v128.store32_lane offset=64 2 (i32.add (local.get $out) (local.get $j)) (local.get $v))
      (v128.store32_lane offset=96 3 (i32.add (local.get $out) (local.get $j)) (local.get $v))
      (br_if $out (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 4))) (i32.const 32)))))

  ;; The big-endian i32 at $p.
  (func $load_be (param $p i32) (result i32)
    (i32x4.extract_lane 0 (i8x16.swizzle (v128.load32_zero (local.get $p)) (global.get $bswap))))

  ;; PBKDF2 for the one user at $in (64 bytes), $salt (10 bytes); hash to $out (32 bytes). Same
  ;; steps as hash4, scalar.
  (func $hash1 (export "hash1") (param $in i32) (param $salt i32) (param $out i32) (param $iterations i32)
    (local $j i32)
    (local.set $j (i32.const 0))
    (loop $key
      (i32.store offset=2432 (local.get $j)
        (i32.xor (call $load_be (i32.add (local.get $in) (local.get $j))) (i32.const 0x36363636)))
      (br_if $key (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 4))) (i32.const 64))))
    (call $compress1 (i32.const 256) (i32.const 2688))
    (local.set $j (i32.const 0))
    (loop $opad
      (i32.store offset=2432 (local.get $j) (i32.xor (i32.load offset=2432 (local.get $j)) (i32.const 0x6a6a6a6a)))
      (br_if $opad (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 4))) (i32.const 64))))
    (call $compress1 (i32.const 256) (i32.const 2720))

    (i32.store offset=2432 (i32.const 0) (call $load_be (local.get $salt)))
    (i32.store offset=2436 (i32.const 0) (call $load_be (i32.add (local.get $salt) (i32.const 4))))
    (i32.store offset=2440 (i32.const 0)
      (i32.and (call $load_be (i32.add (local.get $salt) (i32.const 8))) (i32.const 0xffff0000)))
    (i32.store offset=2444 (i32.const 0) (i32.const 0x00018000))
    (local.set $j (i32.const 16))
    (loop $zeros
      (i32.store offset=2432 (local.get $j) (i32.const 0))
      (br_if $zeros (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 4))) (i32.const 60))))
    (i32.store offset=2492 (i32.const 0) (i32.const 624))
    (call $compress1 (i32.const 2688) (i32.const 2432))

    (i32.store offset=2464 (i32.const 0) (i32.const 0x80000000))
    (i32.store offset=2492 (i32.const 0) (i32.const 768))
    (call $compress1 (i32.const 2720) (i32.const 2432))
    (local.set $j (i32.const 0))
    (loop $t
      (i32.store offset=2752 (local.get $j) (i32.load offset=2432 (local.get $j)))
      (br_if $t (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 4))) (i32.const 32))))
    (block $done
      (loop $iteration
        (br_if $done (i32.le_u (local.get $iterations) (i32.const 1)))
        (call $compress1 (i32.const 2688) (i32.const 2432))
        (call $compress1 (i32.const 2720) (i32.const 2432))
        (local.set $j (i32.const 0))
        (loop $xor
          (i32.store offset=2752 (local.get $j)
            (i32.xor (i32.load offset=2752 (local.get $j)) (i32.load offset=2432 (local.get $j))))
          (br_if $xor (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 4))) (i32.const 32))))
        (local.set $iterations (i32.sub (local.get $iterations) (i32.const 1)))
        (br $iteration)))

    (local.set $j (i32.const 0))
    (loop $out
      (i32.store (i32.add (local.get $out) (local.get $j))
        (call $load_be (i32.add (local.get $j) (i32.const 2752))))
      (br_if $out (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 4))) (i32.const 32)))))

  ;; PBKDF2 for $count users laid out as in hash4 (64-, 10- and 32-byte strides): groups of four
  ;; through hash4, then the remaining zero to three one at a time through hash1.
  (func (export "hashBatch")
    (param $in i32) (param $salt i32) (param $out i32) (param $count i32) (param $iterations i32)
    (block $groups_done
      (loop $groups
        (br_if $groups_done (i32.lt_u (local.get $count) (i32.const 4)))
        (call $hash4 (local.get $in) (local.get $salt) (local.get $out) (local.get $iterations))
        (local.set $in (i32.add (local.get $in) (i32.const 256)))
        (local.set $salt (i32.add (local.get $salt) (i32.const 40)))
        (local.set $out (i32.add (local.get $out) (i32.const 128)))
        (local.set $count (i32.sub (local.get $count) (i32.const 4)))
        (br $groups)))
    (block $done
      (loop $single
        (br_if $done (i32.eqz (local.get $count)))
        (call $hash1 (local.get $in) (local.get $salt) (local.get $out) (local.get $iterations))
        (local.set $in (i32.add (local.get $in) (i32.const 64)))
        (local.set $salt (i32.add (local.get $salt) (i32.const 10)))
        (local.set $out (i32.add (local.get $out) (i32.const 32)))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $single))))
)
