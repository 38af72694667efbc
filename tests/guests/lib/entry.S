/* Boot path of the test guests: PVH entry, long mode, trap stubs, ring 3.
 *
 * PVH (Xen docs/misc/pvh.pandoc): entered at pvh_start32 in 32-bit protected
 * mode, paging off, CS/DS/ES/SS flat, EBX = physical address of struct
 * hvm_start_info; GDTR/IDTR/TR/ESP are not usable.  Everything here runs at
 * CPL0, which PVM hosts emulate instruction by instruction, so the page
 * tables and GDT are assembled into the image instead of built at run time.
 */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS (0x18 | 3)
#define USER_CS (0x20 | 3)
#define TSS_SEL 0x28

#define PTE_P 0x001
#define PTE_W 0x002
#define PTE_U 0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS 0x080

#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20

#define RFLAGS_USER 0x3202	/* IOPL=3, IF=1, reserved bit 1 */

	/* PVH entry note: name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY (18). */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4
	.long 4
	.long 18
	.asciz "Xen"
	.long pvh_start32

	.section .text.entry, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl %ebx, boot_start_info
	lgdt gdt_desc
	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $KERNEL_CS, $start64

	.code64
start64:
	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp
	call guest_start_ring0

	/* Leave ring 0 for good: iretq to guest_start_ring3 at CPL3 with
	 * IOPL=3 (port I/O from ring 3) and IF=1.  RSP = top - 8 so the C
	 * function sees the stack alignment of a call. */
	leaq user_stack_top - 8(%rip), %rax
	pushq $USER_DS
	pushq %rax
	pushq $RFLAGS_USER
	pushq $USER_CS
	leaq guest_start_ring3(%rip), %rax
	pushq %rax
	iretq

	/* Trap stubs: 256 of them, 16 bytes apart (guest_trap_stubs + 16 *
	 * vector), each leaving error code (0 if the CPU pushes none) and
	 * vector on the stack for trap_common.  Page-aligned so all 4 KiB
	 * share offset bits 63:16 (runtime_idt_init relies on it). */
	.p2align 12
	.globl guest_trap_stubs
guest_trap_stubs:
	.set vec, 0
	.rept 256
	.p2align 4
	.if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.else
	pushq $0
	.endif
	pushq $vec
	jmp trap_common
	.set vec, vec + 1
	.endr

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call guest_trap
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	.data
	.globl boot_start_info
	.p2align 3
boot_start_info:
	.quad 0

	/* GDT; the TSS descriptor (0x28, 16 bytes) is filled in by
	 * guest_start_ring0 because its base cannot be split at link time. */
	.p2align 4
	.globl guest_gdt
guest_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 kernel data */
	.quad 0x00cff2000000ffff	/* 0x18 user data, DPL3 */
	.quad 0x00affa000000ffff	/* 0x20 user code, 64-bit, DPL3 */
	.quad 0, 0			/* 0x28 TSS */
guest_gdt_end:
gdt_desc:
	.word guest_gdt_end - guest_gdt - 1
	.long guest_gdt

	/* Identity map of 0..4 GiB with 2 MiB user pages; 3..4 GiB uncached.
	 * guest_map_phys() adds entries to boot_pml4/boot_pdpt later. */
	.p2align 12
	.globl boot_pml4
boot_pml4:
	.quad boot_pdpt + (PTE_P | PTE_W | PTE_U)
	.fill 511, 8, 0
	.globl boot_pdpt
boot_pdpt:
	.quad boot_pd + (PTE_P | PTE_W | PTE_U)
	.quad boot_pd + 0x1000 + (PTE_P | PTE_W | PTE_U)
	.quad boot_pd + 0x2000 + (PTE_P | PTE_W | PTE_U)
	.quad boot_pd + 0x3000 + (PTE_P | PTE_W | PTE_U)
	.fill 508, 8, 0
boot_pd:
	.set i, 0
	.rept 2048
	.if i >= 1536
	.quad (i << 21) + (PTE_P | PTE_W | PTE_U | PTE_PS | PTE_PWT | PTE_PCD)
	.else
	.quad (i << 21) + (PTE_P | PTE_W | PTE_U | PTE_PS)
	.endif
	.set i, i + 1
	.endr

	.bss
	.p2align 12
boot_stack:
	.skip 16384
	.globl boot_stack_top
boot_stack_top:
	.p2align 12
user_stack:
	.skip 65536
user_stack_top:

	.section .note.GNU-stack, "", @progbits
