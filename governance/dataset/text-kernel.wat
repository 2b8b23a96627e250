;; A plain ASCII record's text, read once (text-kernel.ts): its closing quote found, its normalised form written (as
;; normaliseText gives it), and the 64-bit hashes of both (hash64.ts: MurmurHash3 x86 128, its first two words). In
;; JavaScript these were three passes over every byte, most of a scan of millions of short records. Offsets are byte
;; offsets into the memory text-kernel.ts lays out once (`layout`): it never grows after that.
;; `npm run gen:text-kernel` assembles this into gen/text-kernel.wasm.
(module
  (memory (export "memory") 1)
  ;; Each byte's class (ascii-record.ts TEXT_BYTE: a letter lower-cased, 0x61 and up; else SPACE 1, DIGIT 2,
  ;; SEPARATOR 3, PII_SIGN 4, CLOSE 5, NOT_PLAIN 6); where the normalised text goes; the results; 16 bytes of scratch.
  (global $classes (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 0))
  (global $results (mut i32) (i32.const 0))
  (global $scratch (mut i32) (i32.const 0))

  (func (export "layout") (param $classes i32) (param $out i32) (param $results i32) (param $scratch i32)
    (global.set $classes (local.get $classes))
    (global.set $out (local.get $out))
    (global.set $results (local.get $results))
    (global.set $scratch (local.get $scratch)))

  ;; The string opening with the quote at $i, up to $end: returns its closing quote's index, or -1 when it is not
  ;; plain ASCII (a control byte, a backslash, a non-ASCII byte, or no closing quote). Results, 32-bit words:
  ;; [0] blank (spaces only), [1] may hold PII (an '@', a '+' or four digits in a row), [2] the normalised length,
  ;; [3, 4] the text's hash (hi, lo), [5, 6] the normalised text's hash, [7] whether [5, 6] were computed: when
  ;; $nearMin is not negative and the normalised text has at least $nearMin bytes.
  (func (export "text") (param $i i32) (param $end i32) (param $nearMin i32) (result i32)
    (local $c i32) (local $start i32) (local $out i32) (local $length i32) (local $digits i32)
    (local $separated i32) (local $blank i32) (local $pii i32) (local $near i32) (local $bytewise i32)
    (local $v v128) (local $lower v128) (local $gap v128)
    (local.set $out (global.get $out))
    (local.set $blank (i32.const 1))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (local.set $start (local.get $i))
    (block $fail
      (block $close
        (loop $bytes
          ;; Sixteen bytes at a time where they need no more than lower-casing: once a letter is written, a block of
          ;; letters each non-letter of which sits between two letters (a space, a digit, punctuation) and holds no
          ;; byte of another kind. Else (or after a block that failed) byte by byte, for sixteen bytes.
          (if (i32.and (i32.ge_u (local.get $i) (local.get $bytewise))
                       (i32.and (i32.ne (local.get $length) (i32.const 0))
                                (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $end))))
            (then
              (local.set $v (v128.load (local.get $i)))
              (local.set $lower (v128.or (local.get $v) (i8x16.splat (i32.const 0x20))))
              (local.set $gap
                (v128.not
                  (v128.or
                    (i8x16.lt_u (i8x16.sub (local.get $lower) (i8x16.splat (i32.const 0x61))) (i8x16.splat (i32.const 26)))
                    (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x7f))))))
              (if (i32.eqz
                    (v128.any_true
                      (v128.or
                        ;; a non-letter after a non-letter: the block's first after the byte before it, then each
                        (v128.and (local.get $gap)
                          (i8x16.shuffle 16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14
                            (local.get $gap) (i8x16.splat (i32.sub (i32.const 0) (local.get $separated)))))
                        ;; the closing quote, a backslash, a control or non-ASCII byte (negative as i8), '@' or '+'
                        (v128.or
                          (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22)))
                                   (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5c))))
                          (v128.or (i8x16.lt_s (local.get $v) (i8x16.splat (i32.const 0x20)))
                                   (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x40)))
                                            (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x2b)))))))))
                (then
                  (if (local.get $separated)
                    (then
                      (i32.store8 (i32.add (local.get $out) (local.get $length)) (i32.const 0x20))
                      (local.set $length (i32.add (local.get $length) (i32.const 1)))))
                  (v128.store (i32.add (local.get $out) (local.get $length))
                    (v128.bitselect (i8x16.splat (i32.const 0x20)) (local.get $lower) (local.get $gap)))
                  ;; a last non-letter's space is written before the next letter (none at the end); a digit there
                  ;; starts a run of digits
                  (local.set $separated (i32.ne (i8x16.extract_lane_u 15 (local.get $gap)) (i32.const 0)))
                  (local.set $length (i32.sub (i32.add (local.get $length) (i32.const 16)) (local.get $separated)))
                  (local.set $digits
                    (i32.lt_u (i32.sub (i8x16.extract_lane_u 15 (local.get $v)) (i32.const 0x30)) (i32.const 10)))
                  (local.set $i (i32.add (local.get $i) (i32.const 16)))
                  (br $bytes)))
              (local.set $bytewise (i32.add (local.get $i) (i32.const 16)))))
          (br_if $fail (i32.ge_u (local.get $i) (local.get $end)))
          (local.set $c (i32.load8_u (i32.add (global.get $classes) (i32.load8_u (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (if (i32.ge_u (local.get $c) (i32.const 0x61))
            (then
              ;; a letter: after a separator, one space (none at the start), then the letter lower-cased
              (if (local.get $separated)
                (then
                  (local.set $separated (i32.const 0))
                  (if (local.get $length)
                    (then
                      (i32.store8 (i32.add (local.get $out) (local.get $length)) (i32.const 0x20))
                      (local.set $length (i32.add (local.get $length) (i32.const 1)))))))
              (i32.store8 (i32.add (local.get $out) (local.get $length)) (local.get $c))
              (local.set $length (i32.add (local.get $length) (i32.const 1)))
              (local.set $blank (i32.const 0))
              (local.set $digits (i32.const 0))
              (br $bytes)))
          (local.set $separated (i32.const 1))
          (block $pii_sign
            (block $separator
              (block $digit
                (block $space
                  (br_table $fail $space $digit $separator $pii_sign $close $fail (local.get $c)))
                (local.set $digits (i32.const 0))
                (br $bytes))
              (local.set $blank (i32.const 0))
              (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
              (if (i32.ge_u (local.get $digits) (i32.const 4)) (then (local.set $pii (i32.const 1))))
              (br $bytes))
            (local.set $blank (i32.const 0))
            (local.set $digits (i32.const 0))
            (br $bytes))
          (local.set $blank (i32.const 0))
          (local.set $digits (i32.const 0))
          (local.set $pii (i32.const 1))
          (br $bytes)))
      ;; $i is one past the closing quote
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store (global.get $results) (local.get $blank))
      (i32.store offset=4 (global.get $results) (local.get $pii))
      (i32.store offset=8 (global.get $results) (local.get $length))
      (call $hash (local.get $start) (i32.sub (local.get $i) (local.get $start)) (i32.add (global.get $results) (i32.const 12)))
      (local.set $near
        (i32.and (i32.ge_s (local.get $nearMin) (i32.const 0)) (i32.ge_s (local.get $length) (local.get $nearMin))))
      (if (local.get $near)
        (then (call $hash (local.get $out) (local.get $length) (i32.add (global.get $results) (i32.const 20)))))
      (i32.store offset=28 (global.get $results) (local.get $near))
      (return (local.get $i)))
    (i32.const -1))

  ;; MurmurHash3_x86_128 of [$p, $p + $length) with hash64.ts's seed: its first two words at $at (hi) and $at + 4.
  ;; Written out in full: this V8 does not inline WebAssembly calls, and a call per word was a third of its time.
  (func $hash (param $p i32) (param $length i32) (param $at i32)
    (local $h1 i32) (local $h2 i32) (local $h3 i32) (local $h4 i32) (local $blocksEnd i32) (local $tail i32)
    (local.set $h1 (i32.const 0x9747b28c))
    (local.set $h2 (i32.const 0x9747b28c))
    (local.set $h3 (i32.const 0x9747b28c))
    (local.set $h4 (i32.const 0x9747b28c))
    (local.set $blocksEnd (i32.add (local.get $p) (i32.and (local.get $length) (i32.const -16))))
    (block $blocks_done
      (loop $blocks
        (br_if $blocks_done (i32.ge_u (local.get $p) (local.get $blocksEnd)))
        (local.set $h1 (i32.xor (local.get $h1) (i32.mul (i32.rotl (i32.mul (i32.load (local.get $p)) (i32.const 0x239b961b)) (i32.const 15)) (i32.const 0xab0e9789))))
        (local.set $h1
          (i32.add (i32.mul (i32.add (i32.rotl (local.get $h1) (i32.const 19)) (local.get $h2)) (i32.const 5))
                   (i32.const 0x561ccd1b)))
        (local.set $h2 (i32.xor (local.get $h2) (i32.mul (i32.rotl (i32.mul (i32.load offset=4 (local.get $p)) (i32.const 0xab0e9789)) (i32.const 16)) (i32.const 0x38b34ae5))))
        (local.set $h2
          (i32.add (i32.mul (i32.add (i32.rotl (local.get $h2) (i32.const 17)) (local.get $h3)) (i32.const 5))
                   (i32.const 0x0bcaa747)))
        (local.set $h3 (i32.xor (local.get $h3) (i32.mul (i32.rotl (i32.mul (i32.load offset=8 (local.get $p)) (i32.const 0x38b34ae5)) (i32.const 17)) (i32.const 0xa1e38b93))))
        (local.set $h3
          (i32.add (i32.mul (i32.add (i32.rotl (local.get $h3) (i32.const 15)) (local.get $h4)) (i32.const 5))
                   (i32.const 0x96cd1c35)))
        (local.set $h4 (i32.xor (local.get $h4) (i32.mul (i32.rotl (i32.mul (i32.load offset=12 (local.get $p)) (i32.const 0xa1e38b93)) (i32.const 18)) (i32.const 0x239b961b))))
        (local.set $h4
          (i32.add (i32.mul (i32.add (i32.rotl (local.get $h4) (i32.const 13)) (local.get $h1)) (i32.const 5))
                   (i32.const 0x32ac3b17)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $blocks)))
    ;; The tail, zero-padded to 16 bytes: a word of zeros mixes to zero, so all four words can be taken.
    (local.set $tail (global.get $scratch))
    (i64.store (local.get $tail) (i64.const 0))
    (i64.store offset=8 (local.get $tail) (i64.const 0))
    (memory.copy (local.get $tail) (local.get $p) (i32.and (local.get $length) (i32.const 15)))
    (local.set $h1 (i32.xor (local.get $h1) (i32.mul (i32.rotl (i32.mul (i32.load (local.get $tail)) (i32.const 0x239b961b)) (i32.const 15)) (i32.const 0xab0e9789))))
    (local.set $h2 (i32.xor (local.get $h2) (i32.mul (i32.rotl (i32.mul (i32.load offset=4 (local.get $tail)) (i32.const 0xab0e9789)) (i32.const 16)) (i32.const 0x38b34ae5))))
    (local.set $h3 (i32.xor (local.get $h3) (i32.mul (i32.rotl (i32.mul (i32.load offset=8 (local.get $tail)) (i32.const 0x38b34ae5)) (i32.const 17)) (i32.const 0xa1e38b93))))
    (local.set $h4 (i32.xor (local.get $h4) (i32.mul (i32.rotl (i32.mul (i32.load offset=12 (local.get $tail)) (i32.const 0xa1e38b93)) (i32.const 18)) (i32.const 0x239b961b))))
    (local.set $h1 (i32.xor (local.get $h1) (local.get $length)))
    (local.set $h2 (i32.xor (local.get $h2) (local.get $length)))
    (local.set $h3 (i32.xor (local.get $h3) (local.get $length)))
    (local.set $h4 (i32.xor (local.get $h4) (local.get $length)))
    (local.set $h1 (i32.add (i32.add (local.get $h1) (local.get $h2)) (i32.add (local.get $h3) (local.get $h4))))
    (local.set $h2 (i32.add (local.get $h2) (local.get $h1)))
    (local.set $h3 (i32.add (local.get $h3) (local.get $h1)))
    (local.set $h4 (i32.add (local.get $h4) (local.get $h1)))
    (local.set $h1 (i32.xor (local.get $h1) (i32.shr_u (local.get $h1) (i32.const 16))))
    (local.set $h1 (i32.mul (local.get $h1) (i32.const 0x85ebca6b)))
    (local.set $h1 (i32.xor (local.get $h1) (i32.shr_u (local.get $h1) (i32.const 13))))
    (local.set $h1 (i32.mul (local.get $h1) (i32.const 0xc2b2ae35)))
    (local.set $h1 (i32.xor (local.get $h1) (i32.shr_u (local.get $h1) (i32.const 16))))
    (local.set $h2 (i32.xor (local.get $h2) (i32.shr_u (local.get $h2) (i32.const 16))))
    (local.set $h2 (i32.mul (local.get $h2) (i32.const 0x85ebca6b)))
    (local.set $h2 (i32.xor (local.get $h2) (i32.shr_u (local.get $h2) (i32.const 13))))
    (local.set $h2 (i32.mul (local.get $h2) (i32.const 0xc2b2ae35)))
    (local.set $h2 (i32.xor (local.get $h2) (i32.shr_u (local.get $h2) (i32.const 16))))
    (local.set $h3 (i32.xor (local.get $h3) (i32.shr_u (local.get $h3) (i32.const 16))))
    (local.set $h3 (i32.mul (local.get $h3) (i32.const 0x85ebca6b)))
    (local.set $h3 (i32.xor (local.get $h3) (i32.shr_u (local.get $h3) (i32.const 13))))
    (local.set $h3 (i32.mul (local.get $h3) (i32.const 0xc2b2ae35)))
    (local.set $h3 (i32.xor (local.get $h3) (i32.shr_u (local.get $h3) (i32.const 16))))
    (local.set $h4 (i32.xor (local.get $h4) (i32.shr_u (local.get $h4) (i32.const 16))))
    (local.set $h4 (i32.mul (local.get $h4) (i32.const 0x85ebca6b)))
    (local.set $h4 (i32.xor (local.get $h4) (i32.shr_u (local.get $h4) (i32.const 13))))
    (local.set $h4 (i32.mul (local.get $h4) (i32.const 0xc2b2ae35)))
    (local.set $h4 (i32.xor (local.get $h4) (i32.shr_u (local.get $h4) (i32.const 16))))
    (local.set $h1 (i32.add (i32.add (local.get $h1) (local.get $h2)) (i32.add (local.get $h3) (local.get $h4))))
    (local.set $h2 (i32.add (local.get $h2) (local.get $h1)))
    (i32.store (local.get $at) (local.get $h1))
    (i32.store offset=4 (local.get $at) (local.get $h2))))
