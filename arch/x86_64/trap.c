/*
 * trap.c - host exception handling. A fault at an instruction listed in the
 * fixup table (.extable: rdmsr_safe, wrmsr_safe) resumes at its fixup; any
 * other host exception is a hypervisor bug: dump the registers and the
 * current VP's recent exits (a hook the core registered) over serial, then
 * park this CPU.
 */
#include "arch.h"
#include "log.h"
#include "x86.h"

struct extable_entry {
	u64 insn, fixup;
};
extern const struct extable_entry __extable_start[], __extable_end[];

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
	"#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void trap_handler(struct trap_frame *f)
{
	if (f->vector == X86_EXC_NMI) {
		/* SVM holds NMIs while the host runs (GIF=0); VMX delivers
		 * them here. Either way the NMI belongs to the guest (or is a
		 * kick from another VP): note it for the next entry. */
		hw_hook_nmi();
		return;
	}
	for (const struct extable_entry *e = __extable_start; e < __extable_end; e++)
		if (e->insn == f->rip) {
			f->rip = e->fixup;
			return;
		}
	const char *name = f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "?";
	LOGE("PANIC: host exception %s (vector %lu) error %lx at rip %lx",
	     name, (unsigned long)f->vector, (unsigned long)f->error, (unsigned long)f->rip);
	log_raw("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\r\n", (unsigned long)f->rax,
		(unsigned long)f->rbx, (unsigned long)f->rcx, (unsigned long)f->rdx);
	log_raw("  rsi %016lx rdi %016lx rbp %016lx rsp %016lx\r\n", (unsigned long)f->rsi,
		(unsigned long)f->rdi, (unsigned long)f->rbp, (unsigned long)f->rsp);
	log_raw("  r8  %016lx r9  %016lx r10 %016lx r11 %016lx\r\n", (unsigned long)f->r8,
		(unsigned long)f->r9, (unsigned long)f->r10, (unsigned long)f->r11);
	log_raw("  r12 %016lx r13 %016lx r14 %016lx r15 %016lx\r\n", (unsigned long)f->r12,
		(unsigned long)f->r13, (unsigned long)f->r14, (unsigned long)f->r15);
	log_raw("  cs %lx ss %lx rflags %lx cr2 %lx cr3 %lx\r\n", (unsigned long)f->cs,
		(unsigned long)f->ss, (unsigned long)f->rflags, (unsigned long)read_cr2(),
		(unsigned long)read_cr3());
	hw_hook_panic(); /* the current VP's recent exits (hv/vp.c) */
	cpu_park();
}
