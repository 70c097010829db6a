//go:build !purego

#include "textflag.h"

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// The kernels below go over their rows in groups of 8 lanes, the last
// group partial: AX rows done, CX left. GROUP jumps to done when none are
// left and otherwise sets DX to the next group's lanes, its low min(CX, 8)
// bits (the last group's masked loads and stores neither read nor write
// past the rows); NEXT counts the group done and goes on at loop. Both use
// BX.
#define GROUP(done) \
	CMPQ CX, $0; \
	JLE  done; \
	MOVQ $8, BX; \
	CMPQ CX, BX; \
	CMOVQLT CX, BX; \
	MOVL $0xff, DX; \
	BZHIL BX, DX, DX

#define NEXT(loop) \
	POPCNTL DX, BX; \
	ADDQ BX, AX; \
	SUBQ BX, CX; \
	JMP  loop

// LOOKUP sets r0 to the entries k&63 (k in Z4, K3 and K4 its bits 4 and
// 5) of the 64-entry table held in t0..t7, using r1..r3 as scratch.
#define LOOKUP(t0, t1, t2, t3, t4, t5, t6, t7, r0, r1, r2, r3) \
	VMOVDQA64 Z4, r0; VPERMI2PD t1, t0, r0; \
	VMOVDQA64 Z4, r1; VPERMI2PD t3, t2, r1; \
	VMOVDQA64 Z4, r2; VPERMI2PD t5, t4, r2; \
	VMOVDQA64 Z4, r3; VPERMI2PD t7, t6, r3; \
	VBLENDMPD r1, r0, K3, r0; \
	VBLENDMPD r3, r2, K3, r2; \
	VBLENDMPD r2, r0, K4, r0

// func expAVX512(dst, src []float64, shift float64, c *[expVectorLen]float64) int
//
// Groups of 8 lanes, the last one partial, up to the first group with an
// argument outside [-708, 709] or NaN; returns the arguments done.
//
// Per lane, in expFast's order (Go operand order: the destination last,
// VSUBPD b, a, d is d = a - b, VFMADD231PD b, a, d is d = a*b + d):
//
//	x  = src - shift
//	t  = x*invLn2x64 + round; kf = t - round; k = bits(t) - bits(round)
//	r  = FMA(kf, -hi, x); r = FMA(kf, -lo, r)
//	p  = r*(1 + r*(1/2 + r*(1/6 + r*(1/24 + r*(1/120 + r*(1/720))))))
//	s  = FMA(T.hi[k&63], p, T.lo[k&63]) + T.hi[k&63]
//	dst = s * bits(((k + 1023<<6) >> 6) << 52)
//
// k = bits(t) - bits(round) because t = round + k lies in [2^52, 2^53) for
// |x| <= 709 (|k| < 2^17), where consecutive integers are consecutive bit
// patterns. k + 1023<<6 >= 0 for x >= -708 (k >= -65370), so the logical
// shift gives k>>6 + 1023 as expFast's arithmetic one does.
TEXT ·expAVX512(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	MOVQ c+56(FP), R8
	VBROADCASTSD shift+48(FP), Z0
	// The table in registers: T.hi[8j, 8j+8) in Z16+j, T.lo's in Z24+j.
	VMOVUPD 112(R8), Z16
	VMOVUPD 176(R8), Z17
	VMOVUPD 240(R8), Z18
	VMOVUPD 304(R8), Z19
	VMOVUPD 368(R8), Z20
	VMOVUPD 432(R8), Z21
	VMOVUPD 496(R8), Z22
	VMOVUPD 560(R8), Z23
	VMOVUPD 624(R8), Z24
	VMOVUPD 688(R8), Z25
	VMOVUPD 752(R8), Z26
	VMOVUPD 816(R8), Z27
	VMOVUPD 880(R8), Z28
	VMOVUPD 944(R8), Z29
	VMOVUPD 1008(R8), Z30
	VMOVUPD 1072(R8), Z31
	XORQ AX, AX

loop:
	GROUP(done)
	KMOVW     DX, K5
	VMOVUPD.Z (SI)(AX*8), K5, Z1
	VSUBPD    Z0, Z1, Z1                // x
	VCMPPD.BCST $0x1d, 32(R8), Z1, K5, K1 // x >= -708 (GE_OQ: false for NaN)
	VCMPPD.BCST $0x12, 40(R8), Z1, K1, K2 // and x <= 709 (LE_OQ)
	KMOVW     K2, BX
	CMPL      BX, DX
	JNE       done

	VMULPD.BCST      0(R8), Z1, Z2      // x*invLn2x64
	VADDPD.BCST      8(R8), Z2, Z2      // t
	VSUBPD.BCST      8(R8), Z2, Z3      // kf
	VPSUBQ.BCST      8(R8), Z2, Z4      // k
	VFMADD231PD.BCST 16(R8), Z3, Z1     // r = kf*(-hi) + x
	VFMADD231PD.BCST 24(R8), Z3, Z1     // r = kf*(-lo) + r
	VMULPD.BCST      88(R8), Z1, Z5     // r*(1/720)
	VADDPD.BCST      80(R8), Z5, Z5
	VMULPD           Z5, Z1, Z5
	VADDPD.BCST      72(R8), Z5, Z5
	VMULPD           Z5, Z1, Z5
	VADDPD.BCST      64(R8), Z5, Z5
	VMULPD           Z5, Z1, Z5
	VADDPD.BCST      56(R8), Z5, Z5
	VMULPD           Z5, Z1, Z5
	VADDPD.BCST      48(R8), Z5, Z5
	VMULPD           Z5, Z1, Z5         // p

	// T[k&63]: two-register permutes on k's low 4 bits give entries
	// 16i + (k&15) for i = 0..3; bits 4 and 5 of k choose among them.
	VPTESTMQ.BCST 1136(R8), Z4, K3      // bit 4
	VPTESTMQ.BCST 1144(R8), Z4, K4      // bit 5
	LOOKUP(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z6, Z7, Z8, Z9)  // T.hi in Z6
	LOOKUP(Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31, Z7, Z8, Z9, Z10) // T.lo in Z7

	VFMADD213PD Z7, Z6, Z5              // s = T.hi*p + T.lo
	VADDPD      Z6, Z5, Z5              // s += T.hi

	VPADDQ.BCST 96(R8), Z4, Z4
	VPSRLQ      $6, Z4, Z4
	VPSLLQ      $52, Z4, Z4             // 2^(k>>6)
	VMULPD      Z4, Z5, Z5
	VMOVUPD     Z5, K5, (DI)(AX*8)

	NEXT(loop)

done:
	MOVQ AX, ret+64(FP)
	VZEROUPPER
	RET

// func argmaxAVX512(z []float64) (best int, below bool)
//
// len(z) >= 1. Lanes past the end of the last, partial group hold -Inf
// (merge-masked loads), which neither raise the largest value nor come
// before a real lane holding it.
TEXT ·argmaxAVX512(SB), NOSPLIT, $0-33
	MOVQ z_base+0(FP), SI
	MOVQ z_len+8(FP), CX
	MOVQ $0x7ff0000000000000, AX
	VPBROADCASTQ AX, Z1 // +Inf
	MOVQ $0xfff0000000000000, AX
	VPBROADCASTQ AX, Z2 // -Inf: the largest so far
	KXNORW K1, K1, K1   // every value so far below +Inf
	MOVQ   CX, R9
	SHRQ   $3, R9       // whole groups
	ANDQ   $7, CX
	MOVQ   CX, R8       // values in the partial group
	MOVL   $1, DX
	SHLL   CX, DX
	DECL   DX
	KMOVW  DX, K5       // the partial group's lanes
	MOVQ   SI, DI
	MOVQ   R9, BX

maxloop:
	TESTQ   BX, BX
	JZ      maxtail
	VMOVUPD (DI), Z3
	VCMPPD  $0x11, Z1, Z3, K1, K1 // below &= x < +Inf (LT_OQ: false for NaN)
	VMAXPD  Z3, Z2, Z2
	ADDQ    $64, DI
	DECQ    BX
	JMP     maxloop

maxtail:
	TESTQ   R8, R8
	JZ      reduce
	VPBROADCASTQ AX, Z3
	VMOVUPD (DI), K5, Z3          // -Inf in the lanes past the end
	VCMPPD  $0x11, Z1, Z3, K1, K1
	VMAXPD  Z3, Z2, Z2

reduce:
	KMOVW  K1, BX
	CMPB   BL, $0xff
	JNE    notbelow
	VEXTRACTF64X4 $1, Z2, Y3
	VMAXPD        Y3, Y2, Y2
	VEXTRACTF128  $1, Y2, X3
	VMAXPD        X3, X2, X2
	VPERMILPD     $1, X2, X3
	VMAXPD        X3, X2, X2
	VBROADCASTSD  X2, Z2          // the largest, in every lane

	// The first lane equal to it (EQ_OQ: -0 equals +0, as == does).
	XORQ AX, AX
	MOVQ SI, DI

findloop:
	TESTQ   R9, R9
	JZ      findtail
	VCMPPD  $0x00, (DI), Z2, K2
	KMOVW   K2, BX
	TESTL   BX, BX
	JNZ     found
	ADDQ    $64, DI
	ADDQ    $8, AX
	DECQ    R9
	JMP     findloop

findtail:
	VMOVUPD.Z (DI), K5, Z3
	VCMPPD  $0x00, Z2, Z3, K5, K2
	KMOVW   K2, BX

found:
	TZCNTL BX, BX
	ADDQ   BX, AX
	MOVQ   AX, best+24(FP)
	MOVB   $1, below+32(FP)
	VZEROUPPER
	RET

notbelow:
	MOVQ $0, best+24(FP)
	MOVB $0, below+32(FP)
	VZEROUPPER
	RET

// func widenAVX512(dst []float64, src []float32)
TEXT ·widenAVX512(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	XORQ AX, AX

wloop:
	CMPQ CX, $8
	JLT  wtail
	VCVTPS2PD (SI)(AX*4), Z1
	VMOVUPD   Z1, (DI)(AX*8)
	ADDQ      $8, AX
	SUBQ      $8, CX
	JMP       wloop

wtail:
	CMPQ CX, $0
	JEQ  wdone
	MOVL $1, DX
	SHLL CX, DX
	DECL DX
	KMOVW       DX, K1
	VCVTPS2PD.Z (SI)(AX*4), K1, Z1 // (masked lanes read nothing; AVX-512F only)
	VMOVUPD     Z1, K1, (DI)(AX*8)

wdone:
	VZEROUPPER
	RET

// func hardRowsAVX512(loss, brier, q, p []float64, label []int64, eps float64, c *[lvLen]float64) int
//
// Per lane, in clip's, hardLoss's and logPlus's order:
//
//	p must be in [0, 1] (else the group stops the kernel)
//	q = eps if p < eps, else 1 - eps if p > 1 - eps, else p
//	u = 1 - q; c = (1 - u) - q; x, c = q, 0 (label 1) or u, c
//	near 1 (|x - 1| < 2^-7): r = (x - 1) + c, r + r²·logNear1(r)
//	else: tmp = bits(x) - bits(0.6875), i = (tmp >> 45) & 127, k = tmp >> 52
//	      (arithmetic), z = bits(bits(x) - tmp & 0xfff<<52),
//	      r = FMA(z, invc[i], -1), d = (c·2^-min(k, 1022))·invc[i], d -= d·r,
//	      a = k·ln2Hi, w = a + logcHi[i], hi = w + r,
//	      lo = (a - w) + logcHi[i] + ((w - hi) + r) + k·ln2Lo + logcLo[i] + d,
//	      hi + (lo + r²·(-1/2 + r/3 + r²·(-1/4 + r/5 + r²·(-1/6 + r/7))))
//	loss = 0 - that; brier = (p - t)², t = 1 (label 1) or 0
TEXT ·hardRowsAVX512(SB), NOSPLIT, $0-144
	MOVQ loss_base+0(FP), DI
	MOVQ brier_base+24(FP), R13
	MOVQ q_base+48(FP), R14
	MOVQ p_base+72(FP), SI
	MOVQ p_len+80(FP), CX
	MOVQ label_base+96(FP), R12
	VBROADCASTSD eps+120(FP), Z26
	MOVQ c+128(FP), R8
	LEAQ 168(R8), R9           // invc
	LEAQ 1192(R8), R10         // logcHi
	LEAQ 2216(R8), R11         // logcLo
	VBROADCASTSD 0(R8), Z30    // 1
	VPBROADCASTQ 160(R8), Z31  // the int 1
	VPBROADCASTQ 72(R8), Z29   // the int 1023
	VPXORQ Z28, Z28, Z28       // +0
	VSUBPD Z26, Z30, Z27       // 1 - eps
	XORQ AX, AX

hloop:
	GROUP(hdone)
	KMOVW       DX, K5
	VMOVUPD.Z   (SI)(AX*8), K5, Z25   // p
	VCMPPD      $0x1d, Z28, Z25, K5, K1 // p >= 0 (GE_OQ: false for NaN)
	VCMPPD      $0x12, Z30, Z25, K1, K1 // and p <= 1
	KMOVW       K1, BX
	CMPL        BX, DX
	JNE         hdone
	VMOVAPD     Z25, Z0
	VCMPPD      $0x1e, Z27, Z25, K1   // p > 1 - eps
	VMOVAPD     Z27, K1, Z0
	VCMPPD      $0x11, Z26, Z25, K1   // p < eps (clip's first case)
	VMOVAPD     Z26, K1, Z0           // q
	VMOVUPD     Z0, K5, (R14)(AX*8)
	VMOVDQU64.Z (R12)(AX*8), K5, Z1
	VPCMPEQQ    Z31, Z1, K5, K6       // label 1
	KNOTW       K6, K7
	VMOVAPD.Z   Z30, K6, Z24          // t
	VSUBPD      Z24, Z25, Z24
	VMULPD      Z24, Z24, Z24         // (p - t)²
	VMOVUPD     Z24, K5, (R13)(AX*8)
	VSUBPD      Z0, Z30, Z2           // u = 1 - q
	VSUBPD      Z2, Z30, Z3
	VSUBPD      Z0, Z3, Z3            // c = (1 - u) - q
	VBLENDMPD   Z0, Z2, K6, Z4        // x
	VMOVAPD.Z   Z3, K7, Z3            // c, +0 for label 1
	VCMPPD.BCST $0x1d, 8(R8), Z4, K5, K1  // x >= 0x1p-1022
	VCMPPD.BCST $0x12, 16(R8), Z4, K1, K2 // and x <= MaxFloat64
	KMOVW       K2, BX
	CMPL        BX, DX
	JNE         hdone

	// Near 1.
	VSUBPD      Z30, Z4, Z5           // x - 1 (exact here)
	VCMPPD.BCST $0x1e, 32(R8), Z5, K3     // > -2^-7 (GT_OQ)
	VCMPPD.BCST $0x11, 24(R8), Z5, K3, K3 // and < 2^-7 (LT_OQ)
	VADDPD      Z3, Z5, Z6            // r
	VMULPD      Z6, Z6, Z7            // r²
	VMULPD      Z7, Z7, Z8            // r⁴
	VMULPD.BCST 104(R8), Z6, Z9
	VADDPD.BCST 96(R8), Z9, Z9        // -1/2 + r/3
	VMULPD.BCST 120(R8), Z6, Z10
	VADDPD.BCST 112(R8), Z10, Z10     // -1/4 + r/5
	VMULPD      Z10, Z7, Z10
	VADDPD      Z10, Z9, Z9           // a
	VMULPD.BCST 136(R8), Z6, Z10
	VADDPD.BCST 128(R8), Z10, Z10     // -1/6 + r/7
	VMULPD.BCST 152(R8), Z6, Z11
	VADDPD.BCST 144(R8), Z11, Z11     // -1/8 + r/9
	VMULPD      Z11, Z7, Z11
	VADDPD      Z11, Z10, Z10         // b
	VMULPD      Z10, Z8, Z10
	VADDPD      Z10, Z9, Z9           // logNear1(r)
	VMULPD      Z9, Z7, Z9
	VADDPD      Z9, Z6, Z20           // the result near 1

	// The table's way.
	VPSUBQ.BCST 40(R8), Z4, Z5        // tmp
	VPSRLQ      $45, Z5, Z6
	VPANDQ.BCST 56(R8), Z6, Z6        // i
	VPSRAQ      $52, Z5, Z7           // k
	VPANDQ.BCST 48(R8), Z5, Z8
	VPSUBQ      Z8, Z4, Z8            // z
	KMOVW       K5, K4
	VGATHERQPD  (R9)(Z6*8), K4, Z9    // invc
	KMOVW       K5, K4
	VGATHERQPD  (R10)(Z6*8), K4, Z10  // logcHi
	KMOVW       K5, K4
	VGATHERQPD  (R11)(Z6*8), K4, Z11  // logcLo
	VFMSUB213PD Z30, Z9, Z8           // r = z·invc - 1
	VPMINSQ.BCST 64(R8), Z7, Z12
	VPSUBQ      Z12, Z29, Z12
	VPSLLQ      $52, Z12, Z12         // 2^-min(k, 1022)
	VMULPD      Z12, Z3, Z12
	VMULPD      Z9, Z12, Z12          // d
	VMULPD      Z8, Z12, Z13
	VSUBPD      Z13, Z12, Z12         // d -= d·r
	VCVTQQ2PD   Z7, Z13               // k as a float64
	VMULPD.BCST 80(R8), Z13, Z14      // a = k·ln2Hi
	VADDPD      Z10, Z14, Z15         // w
	VADDPD      Z8, Z15, Z16          // hi
	VSUBPD      Z15, Z14, Z17
	VADDPD      Z10, Z17, Z17         // (a - w) + logcHi
	VSUBPD      Z16, Z15, Z18
	VADDPD      Z8, Z18, Z18          // (w - hi) + r
	VADDPD      Z18, Z17, Z17
	VMULPD.BCST 88(R8), Z13, Z18
	VADDPD      Z18, Z17, Z17         // + k·ln2Lo
	VADDPD      Z11, Z17, Z17         // + logcLo
	VADDPD      Z12, Z17, Z17         // lo
	VMULPD      Z8, Z8, Z18           // r²
	VMULPD.BCST 136(R8), Z8, Z19
	VADDPD.BCST 128(R8), Z19, Z19
	VMULPD      Z19, Z18, Z19         // r²·(-1/6 + r/7)
	VMULPD.BCST 120(R8), Z8, Z21
	VADDPD.BCST 112(R8), Z21, Z21
	VADDPD      Z19, Z21, Z21
	VMULPD      Z21, Z18, Z21
	VMULPD.BCST 104(R8), Z8, Z19
	VADDPD.BCST 96(R8), Z19, Z19
	VADDPD      Z21, Z19, Z19
	VMULPD      Z19, Z18, Z19         // p
	VADDPD      Z19, Z17, Z17
	VADDPD      Z17, Z16, Z16         // hi + (lo + p)

	VBLENDMPD   Z20, Z16, K3, Z16     // near 1: that way's result
	VSUBPD      Z16, Z28, Z16         // 0 - ln x
	VMOVUPD     Z16, K5, (DI)(AX*8)

	NEXT(hloop)

hdone:
	MOVQ AX, ret+136(FP)
	VZEROUPPER
	RET

// func fixedSumAVX512(xs []float64, flip uint64, acc *fixedAcc) int
//
// Per lane, for the value's bits b (sign bit flipped by flip): e = b >> 52
// (the sign bit, when set, puts e out of the window), m its significand
// with the implicit bit, p = e - 947 its position in units of 2^-128 and
// s = p & 63: m·2^s is lo + hi·2^64, added to (w0, w1), or to (w1, w2)
// when p >= 64, the carries out of w0 and w1 counted in c1 and c2.
TEXT ·fixedSumAVX512(SB), NOSPLIT, $0-48
	MOVQ xs_base+0(FP), SI
	MOVQ xs_len+8(FP), CX
	VPBROADCASTQ flip+24(FP), Z20
	MOVQ acc+32(FP), R8
	VMOVDQU64 0(R8), Z0     // w0
	VMOVDQU64 64(R8), Z1    // w1
	VMOVDQU64 128(R8), Z2   // w2
	VMOVDQU64 192(R8), Z3   // c1
	VMOVDQU64 256(R8), Z4   // c2
	MOVQ $0x000fffffffffffff, BX
	VPBROADCASTQ BX, Z22    // the fraction's bits
	MOVQ $0x0010000000000000, BX
	VPBROADCASTQ BX, Z23    // the implicit bit
	MOVQ $947, BX
	VPBROADCASTQ BX, Z24    // fixedExpMin
	MOVQ $1032, BX
	VPBROADCASTQ BX, Z25    // fixedExpMax
	MOVQ $63, BX
	VPBROADCASTQ BX, Z26
	MOVQ $64, BX
	VPBROADCASTQ BX, Z27
	MOVQ $1, BX
	VPBROADCASTQ BX, Z28
	XORQ AX, AX

floop:
	GROUP(fdone)
	KMOVW       DX, K5
	VMOVDQU64.Z (SI)(AX*8), K5, Z5
	VPXORQ      Z20, Z5, K5, Z5       // b (0 in the lanes past the rows)
	VPSRLQ      $52, Z5, Z6           // e, with the sign bit above it
	VPCMPUQ     $5, Z24, Z6, K5, K1   // e >= fixedExpMin (NLT)
	VPCMPUQ     $2, Z25, Z6, K1, K1   // and e <= fixedExpMax (LE)
	VPTESTNMQ   Z5, Z5, K5, K2        // or b == 0 (+0)
	KORW        K1, K2, K2
	KMOVW       K2, BX
	CMPL        BX, DX
	JNE         fdone

	VPANDQ      Z22, Z5, Z7
	VPORQ       Z23, Z7, K1, Z7       // m (0 for +0)
	VPSUBQ      Z24, Z6, Z8           // p
	VPANDQ      Z26, Z8, Z9           // s
	VPCMPQ      $5, Z27, Z8, K5, K3   // p >= 64
	KNOTW       K3, K4
	VPSLLVQ     Z9, Z7, Z10           // lo = m << s
	VPSUBQ      Z9, Z27, Z11
	VPSRLVQ     Z11, Z7, Z11          // hi = m >> (64 - s) (0 for s = 0)
	VMOVDQA64.Z Z10, K4, Z12          // to w0: lo, or 0
	VPBLENDMQ   Z10, Z11, K3, Z13     // to w1: hi, or lo
	VMOVDQA64.Z Z11, K3, Z14          // to w2: 0, or hi
	VPADDQ      Z12, Z0, Z0
	VPCMPUQ     $1, Z12, Z0, K6       // carry: w0 < what was added
	VPADDQ      Z28, Z3, K6, Z3
	VPADDQ      Z13, Z1, Z1
	VPCMPUQ     $1, Z13, Z1, K6
	VPADDQ      Z28, Z4, K6, Z4
	VPADDQ      Z14, Z2, Z2
	NEXT(floop)

fdone:
	VMOVDQU64 Z0, 0(R8)
	VMOVDQU64 Z1, 64(R8)
	VMOVDQU64 Z2, 128(R8)
	VMOVDQU64 Z3, 192(R8)
	VMOVDQU64 Z4, 256(R8)
	MOVQ AX, ret+40(FP)
	VZEROUPPER
	RET

// BIN adds the group's rows in the bin at off(R10) (K5 its lanes, Z3 their
// bins) to that bin's accumulators lo, hi and co: the confidence's low and
// high 32 bits (Z4, Z6) and 1 + t·2^32 (Z7).
#define BIN(off, lo, hi, co) \
	VPCMPEQQ.BCST off(R10), Z3, K5, K6; \
	VPADDQ Z4, lo, K6, lo; \
	VPADDQ Z6, hi, K6, hi; \
	VPADDQ Z7, co, K6, co

// func binsAVX512(conf, target []float64, bins float64, last int64, c *[bvLen]uint64, acc *binAcc, from int) int
//
// The accumulators of bins from .. from+7 stay in registers: lo in
// Z8-Z15, hi in Z16-Z23, co in Z24-Z31.
TEXT ·binsAVX512(SB), NOSPLIT, $0-96
	MOVQ conf_base+0(FP), SI
	MOVQ conf_len+8(FP), CX
	MOVQ target_base+24(FP), DI
	VPBROADCASTQ bins+48(FP), Z5
	MOVQ c+64(FP), R9
	MOVQ from+80(FP), R11
	LEAQ 72(R9)(R11*8), R10 // &c[bvIndex+from]
	MOVQ acc+72(FP), R8
	SHLQ $6, R11
	ADDQ R11, R8            // &acc.lo[from]; hi and co 1024 and 2048 bytes on
	VMOVDQU64 0(R8), Z8
	VMOVDQU64 64(R8), Z9
	VMOVDQU64 128(R8), Z10
	VMOVDQU64 192(R8), Z11
	VMOVDQU64 256(R8), Z12
	VMOVDQU64 320(R8), Z13
	VMOVDQU64 384(R8), Z14
	VMOVDQU64 448(R8), Z15
	VMOVDQU64 1024(R8), Z16
	VMOVDQU64 1088(R8), Z17
	VMOVDQU64 1152(R8), Z18
	VMOVDQU64 1216(R8), Z19
	VMOVDQU64 1280(R8), Z20
	VMOVDQU64 1344(R8), Z21
	VMOVDQU64 1408(R8), Z22
	VMOVDQU64 1472(R8), Z23
	VMOVDQU64 2048(R8), Z24
	VMOVDQU64 2112(R8), Z25
	VMOVDQU64 2176(R8), Z26
	VMOVDQU64 2240(R8), Z27
	VMOVDQU64 2304(R8), Z28
	VMOVDQU64 2368(R8), Z29
	VMOVDQU64 2432(R8), Z30
	VMOVDQU64 2496(R8), Z31
	XORQ AX, AX

bloop:
	GROUP(bdone)
	KMOVW       DX, K5
	VMOVDQU64.Z (SI)(AX*8), K5, Z0      // c
	VMOVDQU64.Z (DI)(AX*8), K5, Z1      // t
	VPSRLQ      $52, Z0, Z2
	VPSUBQ.BCST 0(R9), Z2, Z2           // s = e - unitConfMin (huge for a sign bit or a small e)
	VPCMPUQ.BCST $2, 8(R9), Z2, K5, K1  // s <= 11: c in [2^-11, 2) (LE)
	VCMPPD.BCST $0, 64(R9), Z1, K5, K3  // t == 1 (EQ_OQ)
	VCMPPD.BCST $0, 56(R9), Z1, K5, K4  // t == 0 (-0 too)
	KORW        K3, K4, K4
	KANDW       K1, K4, K4
	KMOVW       K4, BX
	CMPL        BX, DX
	JNE         bdone

	VMULPD      Z5, Z0, Z3
	VCVTTPD2QQ  Z3, Z3
	VPMINSQ.BCST last+56(FP), Z3, Z3    // k = min(int(c·bins), bins-1)
	VPANDQ.BCST 16(R9), Z0, Z4
	VPORQ.BCST  24(R9), Z4, Z4
	VPSLLVQ     Z2, Z4, Z4              // c in units of 2^-63
	VPSRLQ      $32, Z4, Z6             // its high 32 bits
	VPANDQ.BCST 32(R9), Z4, Z4          // its low 32 bits
	VPBROADCASTQ 40(R9), Z7
	VPADDQ.BCST 48(R9), Z7, K3, Z7      // 1 + t·2^32
	BIN(0, Z8, Z16, Z24)
	BIN(8, Z9, Z17, Z25)
	BIN(16, Z10, Z18, Z26)
	BIN(24, Z11, Z19, Z27)
	BIN(32, Z12, Z20, Z28)
	BIN(40, Z13, Z21, Z29)
	BIN(48, Z14, Z22, Z30)
	BIN(56, Z15, Z23, Z31)
	NEXT(bloop)

bdone:
	VMOVDQU64 Z8, 0(R8)
	VMOVDQU64 Z9, 64(R8)
	VMOVDQU64 Z10, 128(R8)
	VMOVDQU64 Z11, 192(R8)
	VMOVDQU64 Z12, 256(R8)
	VMOVDQU64 Z13, 320(R8)
	VMOVDQU64 Z14, 384(R8)
	VMOVDQU64 Z15, 448(R8)
	VMOVDQU64 Z16, 1024(R8)
	VMOVDQU64 Z17, 1088(R8)
	VMOVDQU64 Z18, 1152(R8)
	VMOVDQU64 Z19, 1216(R8)
	VMOVDQU64 Z20, 1280(R8)
	VMOVDQU64 Z21, 1344(R8)
	VMOVDQU64 Z22, 1408(R8)
	VMOVDQU64 Z23, 1472(R8)
	VMOVDQU64 Z24, 2048(R8)
	VMOVDQU64 Z25, 2112(R8)
	VMOVDQU64 Z26, 2176(R8)
	VMOVDQU64 Z27, 2240(R8)
	VMOVDQU64 Z28, 2304(R8)
	VMOVDQU64 Z29, 2368(R8)
	VMOVDQU64 Z30, 2432(R8)
	VMOVDQU64 Z31, 2496(R8)
	MOVQ AX, ret+88(FP)
	VZEROUPPER
	RET

// func sums8AVX512(e []float64) (sum, sq float64)
//
// The lanes are folded as fold8 does: t = low half + high half (lanes j
// and j+4), u = t's low pair + high pair (j and j+2), then u0 + u1.
TEXT ·sums8AVX512(SB), NOSPLIT, $0-40
	MOVQ e_base+0(FP), SI
	MOVQ e_len+8(FP), CX
	VPXORQ Z0, Z0, Z0 // the sums
	VPXORQ Z1, Z1, Z1 // the sums of squares
	XORQ AX, AX

sloop:
	GROUP(sdone)
	KMOVW       DX, K5
	VMOVUPD.Z   (SI)(AX*8), K5, Z2 // +0 past the end
	VADDPD      Z2, Z0, Z0
	VMULPD      Z2, Z2, Z3
	VADDPD      Z3, Z1, Z1
	NEXT(sloop)

sdone:
	VEXTRACTF64X4 $1, Z0, Y2
	VADDPD        Y2, Y0, Y0   // s_j + s_j+4
	VEXTRACTF128  $1, Y0, X2
	VADDPD        X2, X0, X0   // (s0+s4) + (s2+s6), (s1+s5) + (s3+s7)
	VPERMILPD     $1, X0, X2
	VADDSD        X2, X0, X0
	VMOVSD        X0, sum+24(FP)
	VEXTRACTF64X4 $1, Z1, Y2
	VADDPD        Y2, Y1, Y1
	VEXTRACTF128  $1, Y1, X2
	VADDPD        X2, X1, X1
	VPERMILPD     $1, X1, X2
	VADDSD        X2, X1, X1
	VMOVSD        X1, sq+32(FP)
	VZEROUPPER
	RET

// func logprobsAVX512(xs []float64, slack float64) int
//
// Per lane, as checkLogprob: x must be <= slack (an ordered compare, so not
// NaN), else the group stops the kernel; x > 0 becomes +0.
TEXT ·logprobsAVX512(SB), NOSPLIT, $0-40
	MOVQ         xs_base+0(FP), SI
	MOVQ         xs_len+8(FP), CX
	VBROADCASTSD slack+24(FP), Z1
	VPXORQ       Z2, Z2, Z2 // +0
	XORQ         AX, AX

lloop:
	GROUP(ldone)
	KMOVW     DX, K5
	VMOVUPD.Z (SI)(AX*8), K5, Z0
	VCMPPD    $0x12, Z1, Z0, K5, K1 // x <= slack (LE_OQ)
	KMOVW     K1, BX
	CMPL      BX, DX
	JNE       ldone
	VCMPPD    $0x1e, Z2, Z0, K5, K2 // x > 0 (GT_OQ)
	VMOVUPD   Z2, K2, (SI)(AX*8)
	NEXT(lloop)

ldone:
	MOVQ AX, ret+32(FP)
	VZEROUPPER
	RET
