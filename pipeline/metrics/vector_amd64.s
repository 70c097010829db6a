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

// func expAVX512(dst, src []float64, shift float64, c *[expVectorLen]float64) int
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
	VBROADCASTSD 0(R8), Z1    // invLn2x64
	VBROADCASTSD 8(R8), Z2    // round
	VBROADCASTSD 16(R8), Z3   // -ln2By64Hi
	VBROADCASTSD 24(R8), Z4   // -ln2By64Lo
	VBROADCASTSD 32(R8), Z5   // -708
	VBROADCASTSD 40(R8), Z6   // 709
	VBROADCASTSD 48(R8), Z7   // 1
	VBROADCASTSD 56(R8), Z8   // 1/2
	VBROADCASTSD 64(R8), Z9   // 1/6
	VBROADCASTSD 72(R8), Z10  // 1/24
	VBROADCASTSD 80(R8), Z11  // 1/120
	VBROADCASTSD 88(R8), Z12  // 1/720
	VPBROADCASTQ 96(R8), Z13  // 1023<<6
	VPBROADCASTQ 104(R8), Z19 // 63
	LEAQ 112(R8), R9          // T.hi
	LEAQ 624(R8), R10         // T.lo
	XORQ AX, AX

loop:
	CMPQ CX, $8
	JLT  done
	VMOVUPD (SI)(AX*8), Z14
	VSUBPD  Z0, Z14, Z14          // x
	VCMPPD  $0x1d, Z5, Z14, K1    // x >= -708 (GE_OQ: false for NaN)
	VCMPPD  $0x12, Z6, Z14, K1, K2 // and x <= 709 (LE_OQ)
	KMOVW   K2, BX
	CMPB    BL, $0xff
	JNE     done

	VMULPD      Z1, Z14, Z15  // x*invLn2x64
	VADDPD      Z2, Z15, Z15  // t
	VSUBPD      Z2, Z15, Z16  // kf
	VPSUBQ      Z2, Z15, Z17  // k
	VFMADD231PD Z3, Z16, Z14  // r = kf*(-hi) + x
	VFMADD231PD Z4, Z16, Z14  // r = kf*(-lo) + r
	VMULPD      Z12, Z14, Z18 // r*(1/720)
	VADDPD      Z11, Z18, Z18
	VMULPD      Z18, Z14, Z18
	VADDPD      Z10, Z18, Z18
	VMULPD      Z18, Z14, Z18
	VADDPD      Z9, Z18, Z18
	VMULPD      Z18, Z14, Z18
	VADDPD      Z8, Z18, Z18
	VMULPD      Z18, Z14, Z18
	VADDPD      Z7, Z18, Z18
	VMULPD      Z18, Z14, Z18 // p

	VPANDQ      Z19, Z17, Z20 // k & 63
	KXNORW      K3, K3, K3
	VGATHERQPD  (R9)(Z20*8), K3, Z21  // T.hi
	KXNORW      K4, K4, K4
	VGATHERQPD  (R10)(Z20*8), K4, Z22 // T.lo
	VFMADD213PD Z22, Z21, Z18 // s = T.hi*p + T.lo
	VADDPD      Z21, Z18, Z18 // s += T.hi

	VPADDQ  Z13, Z17, Z17
	VPSRLQ  $6, Z17, Z17
	VPSLLQ  $52, Z17, Z17     // 2^(k>>6)
	VMULPD  Z17, Z18, Z18
	VMOVUPD Z18, (DI)(AX*8)

	ADDQ $8, AX
	SUBQ $8, CX
	JMP  loop

done:
	MOVQ AX, ret+64(FP)
	VZEROUPPER
	RET

// func maxAVX512(z []float64) (m float64, below bool)
TEXT ·maxAVX512(SB), NOSPLIT, $0-33
	MOVQ z_base+0(FP), SI
	MOVQ z_len+8(FP), CX
	MOVQ $0x7ff0000000000000, AX
	VPBROADCASTQ AX, Z1 // +Inf
	MOVQ $0xfff0000000000000, AX
	VPBROADCASTQ AX, Z2 // -Inf: the largest so far
	KXNORW K1, K1, K1

maxloop:
	VMOVUPD (SI), Z3
	VCMPPD  $0x11, Z1, Z3, K1, K1 // below &= x < +Inf (LT_OQ: false for NaN)
	VMAXPD  Z3, Z2, Z2
	ADDQ    $64, SI
	SUBQ    $8, CX
	JNZ     maxloop

	VEXTRACTF64X4 $1, Z2, Y3
	VMAXPD        Y3, Y2, Y2
	VEXTRACTF128  $1, Y2, X3
	VMAXPD        X3, X2, X2
	VPERMILPD     $1, X2, X3
	VMAXPD        X3, X2, X2
	MOVSD         X2, m+24(FP)
	KMOVW         K1, AX
	CMPB          AL, $0xff
	SETEQ         below+32(FP)
	VZEROUPPER
	RET
