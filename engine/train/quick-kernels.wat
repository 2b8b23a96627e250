;; The quick fastText's kernels (quick-fasttext.ts), four float32 lanes at a time (WebAssembly SIMD): an embedding
;; bag, its gradient's scatter into the table, and AdamW. In plain JavaScript each lane was a float64 operation of
;; its own, and AdamW over the table's 262 K values was 5-7x slower. Pointers are byte offsets into the memory
;; quick-fasttext.ts lays out; `dim` and row widths are multiples of 4. `npm run gen:quick-kernels` assembles this
;; into gen/quick-kernels.wasm.
(module
  (memory (export "memory") 1)

  ;; out[i, :] = sum over n-grams j of text i of weights[j] * table[ids[j], :], for texts i < n; the batch's
  ;; n-grams are back to back, text i's ending before ends[i].
  (func (export "bags")
        (param $table i32) (param $dim i32) (param $ids i32) (param $weights i32) (param $ends i32)
        (param $n i32) (param $out i32)
    (local $i i32) (local $start i32) (local $end i32) (local $col i32) (local $j i32) (local $sum v128)
    (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $dim) (i32.const 2)))
    (block $texts_done
      (loop $texts
        (br_if $texts_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $end (i32.load (i32.add (local.get $ends) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $col (i32.const 0))
        (loop $cols
          (local.set $sum (v128.const f32x4 0 0 0 0))
          (local.set $j (local.get $start))
          (block $ngrams_done
            (loop $ngrams
              (br_if $ngrams_done (i32.ge_u (local.get $j) (local.get $end)))
              (local.set $sum
                (f32x4.add (local.get $sum)
                  (f32x4.mul
                    (f32x4.splat (f32.load (i32.add (local.get $weights) (i32.shl (local.get $j) (i32.const 2)))))
                    (v128.load (i32.add (local.get $table)
                      (i32.add (i32.mul (i32.load (i32.add (local.get $ids) (i32.shl (local.get $j) (i32.const 2))))
                                        (local.get $rowBytes))
                               (local.get $col)))))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $ngrams)))
          (v128.store
            (i32.add (local.get $out) (i32.add (i32.mul (local.get $i) (local.get $rowBytes)) (local.get $col)))
            (local.get $sum))
          (local.set $col (i32.add (local.get $col) (i32.const 16)))
          (br_if $cols (i32.lt_u (local.get $col) (local.get $rowBytes))))
        (local.set $start (local.get $end))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $texts))))

  ;; The transpose of bags: grad[ids[j], :] += weights[j] * dBag[i, :] for each n-gram j of text i < n; and
  ;; touched[ids[j]] = 1, the rows that have had a gradient.
  (func (export "scatter")
        (param $grad i32) (param $dim i32) (param $ids i32) (param $weights i32) (param $ends i32)
        (param $n i32) (param $dBag i32) (param $touched i32)
    (local $i i32) (local $start i32) (local $end i32) (local $col i32) (local $j i32) (local $g v128)
    (local $at i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $dim) (i32.const 2)))
    (block $texts_done
      (loop $texts
        (br_if $texts_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $end (i32.load (i32.add (local.get $ends) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $j (local.get $start))
        (block $marked
          (loop $mark
            (br_if $marked (i32.ge_u (local.get $j) (local.get $end)))
            (i32.store8
              (i32.add (local.get $touched) (i32.load (i32.add (local.get $ids) (i32.shl (local.get $j) (i32.const 2)))))
              (i32.const 1))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $mark)))
        (local.set $col (i32.const 0))
        (loop $cols
          (local.set $g
            (v128.load
              (i32.add (local.get $dBag) (i32.add (i32.mul (local.get $i) (local.get $rowBytes)) (local.get $col)))))
          (local.set $j (local.get $start))
          (block $ngrams_done
            (loop $ngrams
              (br_if $ngrams_done (i32.ge_u (local.get $j) (local.get $end)))
              (local.set $at
                (i32.add (local.get $grad)
                  (i32.add (i32.mul (i32.load (i32.add (local.get $ids) (i32.shl (local.get $j) (i32.const 2))))
                                    (local.get $rowBytes))
                           (local.get $col))))
              (v128.store (local.get $at)
                (f32x4.add (v128.load (local.get $at))
                  (f32x4.mul
                    (f32x4.splat (f32.load (i32.add (local.get $weights) (i32.shl (local.get $j) (i32.const 2)))))
                    (local.get $g))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $ngrams)))
          (local.set $col (i32.add (local.get $col) (i32.const 16)))
          (br_if $cols (i32.lt_u (local.get $col) (local.get $rowBytes))))
        (local.set $start (local.get $end))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $texts))))

  ;; AdamW without weight decay over `rows` rows of `width` values (optim/adamw.ts's update: the moments' discounted
  ;; sums M <- beta1*M + g, V <- beta2*V + g*g, p <- p - stepSize * M / (sqrt(V) + eps)), each gradient cleared for
  ;; the next update as it is read. With touched != 0 a row whose flag is 0 is skipped: it has had no gradient, so
  ;; its moments are 0 and the update would leave it as it is.
  (func (export "adamw")
        (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $rows i32) (param $width i32)
        (param $touched i32) (param $stepSize f32) (param $eps f32) (param $beta1 f32) (param $beta2 f32)
    (local $r i32) (local $at i32) (local $end i32) (local $gi v128) (local $mi v128) (local $vi v128)
    (local $ss v128) (local $e v128) (local $b1 v128) (local $b2 v128) (local $rowBytes i32)
    (local.set $ss (f32x4.splat (local.get $stepSize)))
    (local.set $e (f32x4.splat (local.get $eps)))
    (local.set $b1 (f32x4.splat (local.get $beta1)))
    (local.set $b2 (f32x4.splat (local.get $beta2)))
    (local.set $rowBytes (i32.shl (local.get $width) (i32.const 2)))
    (block $rows_done
      (loop $each_row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (if (i32.or (i32.eqz (local.get $touched))
                    (i32.load8_u (i32.add (local.get $touched) (local.get $r))))
          (then
            (local.set $at (i32.mul (local.get $r) (local.get $rowBytes)))
            (local.set $end (i32.add (local.get $at) (local.get $rowBytes)))
            (loop $quads
              (local.set $gi (v128.load (i32.add (local.get $g) (local.get $at))))
              (v128.store (i32.add (local.get $g) (local.get $at)) (v128.const f32x4 0 0 0 0))
              (local.set $mi
                (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $at))) (local.get $b1))
                           (local.get $gi)))
              (local.set $vi
                (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $at))) (local.get $b2))
                           (f32x4.mul (local.get $gi) (local.get $gi))))
              (v128.store (i32.add (local.get $m) (local.get $at)) (local.get $mi))
              (v128.store (i32.add (local.get $v) (local.get $at)) (local.get $vi))
              (v128.store (i32.add (local.get $p) (local.get $at))
                (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $at)))
                  (f32x4.mul
                    (f32x4.div (local.get $mi) (f32x4.add (f32x4.sqrt (local.get $vi)) (local.get $e)))
                    (local.get $ss))))
              (local.set $at (i32.add (local.get $at) (i32.const 16)))
              (br_if $quads (i32.lt_u (local.get $at) (local.get $end))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $each_row))))
)
