/* test_tlb.c - the flush and IPI hypercalls (hv/tlb.c, TLFS 9.4.1-9.4.5,
 * 10.5.2-10.5.3) over cross-VP calls (hv/xcall.c): which VPs flush what,
 * the statuses of bad inputs, continuation, and the IPIs sent. Other VPs
 * serve their mailboxes from the fake hw_cpu_relax, as their processors
 * would before their next entry. */
#include "htest.h"
#include "fakes.h"
#include "boot_info.h"
#include "tlfs.h"
#include "x86.h"
#include <string.h>

#define NVP 3
static struct partition part;
static struct vp vps[NVP];
static struct fake_be_state bes[NVP];
static u8 hc_page[4096] __attribute__((aligned(4096)));
static const struct mem_range ranges[] = {
	{ FAKE_RAM_BASE, FAKE_RAM_SIZE, MEM_RAM, 0 },
};
#define IN_GPA (FAKE_RAM_BASE)
#define IN ((u64 *)fake_ram)
#define PAGE_GPA (FAKE_RAM_BASE + 0x8000)

static void setup(void)
{
	fake_smp_partition(&part, vps, bes, NVP);
	part.ranges = ranges;
	part.range_count = 1;
	fake_enable_hypercalls(&part, hc_page, PAGE_GPA);
	memset(fake_ram, 0, sizeof(fake_ram));
	fake_icr_count = 0;
}

static u64 call(u64 input, u64 in_gpa)
{
	struct vp *vp = &vps[0];
	vp->gpr[GPR_RCX] = input;
	vp->gpr[GPR_RDX] = in_gpa;
	vp->gpr[GPR_R8] = 0;
	for (int i = 0; i < NVP; i++)
		bes[i].flush_count = 0;
	hv_handle_hypercall(vp, NULL);
	return vp->gpr[GPR_RAX];
}

static u64 reps(u16 code, u32 n, u32 varhdr)
{
	return code | ((u64)n << 32) | ((u64)varhdr << HV_HC_VARHDR_SHIFT);
}

TEST(tlb_flush_space_targets)
{
	setup();
	IN[0] = 0x1000; /* AddressSpace */
	IN[1] = 0;
	IN[2] = 0x2; /* VP 1 */
	CHECK_EQ(call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN_GPA), 0);
	CHECK_EQ(bes[0].flush_count, 0);
	CHECK_EQ(bes[1].flush_count, 1);
	CHECK_EQ(bes[1].flushes[0].kind, TLB_FLUSH_ALL);
	CHECK_EQ(bes[2].flush_count, 0);
	CHECK(vps[1].xcalls_served == 1);
	/* Non-global only, self and VP 2. */
	IN[1] = HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY;
	IN[2] = 0x5;
	CHECK_EQ(call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN_GPA), 0);
	CHECK_EQ(bes[0].flush_count, 1);
	CHECK_EQ(bes[0].flushes[0].kind, TLB_FLUSH_NONGLOBAL);
	CHECK_EQ(bes[1].flush_count, 0);
	CHECK_EQ(bes[2].flushes[0].kind, TLB_FLUSH_NONGLOBAL);
	/* All processors: the mask is ignored, even a bad one. */
	IN[1] = HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES;
	IN[0] = ~0ull;
	IN[2] = BIT(40);
	CHECK_EQ(call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN_GPA), 0);
	for (int i = 0; i < NVP; i++)
		CHECK_EQ(bes[i].flush_count, 1);
}

TEST(tlb_flush_space_errors)
{
	setup();
	IN[0] = 0x1000;
	IN[2] = 0x2;
	IN[1] = BIT(4); /* reserved flag */
	CHECK_EQ(call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	IN[1] = HV_FLUSH_USE_EXTENDED_RANGE_FORMAT; /* not offered */
	CHECK_EQ(call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	IN[1] = 0;
	IN[0] = BIT(36); /* above the 36-bit physical address width */
	CHECK_EQ(call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	IN[1] = HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES; /* ... unless ignored */
	CHECK_EQ(call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN_GPA), 0);
	IN[0] = 0x1000;
	IN[1] = 0;
	IN[2] = 0; /* empty mask */
	CHECK_EQ(call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	IN[2] = 0x9; /* VP 3 does not exist: nobody flushes */
	CHECK_EQ(call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(bes[0].flush_count, 0);
	/* Not a rep call, no variable header. */
	IN[2] = 0x2;
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 1, 0), IN_GPA),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, 0, 1), IN_GPA),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);
}

TEST(tlb_flush_space_ex)
{
	setup();
	IN[0] = 0x1000;
	IN[1] = 0;
	IN[2] = HV_GENERIC_SET_SPARSE_4K;
	IN[3] = 0x1;
	IN[4] = 0x6;
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 1), IN_GPA), 0);
	CHECK_EQ(bes[0].flush_count, 0);
	CHECK_EQ(bes[1].flush_count, 1);
	CHECK_EQ(bes[2].flush_count, 1);
	IN[2] = HV_GENERIC_SET_ALL;
	IN[3] = 0;
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 0), IN_GPA), 0);
	CHECK_EQ(bes[0].flush_count + bes[1].flush_count + bes[2].flush_count, 3);
	/* Malformed banks, an empty sparse set. */
	IN[2] = HV_GENERIC_SET_SPARSE_4K;
	IN[3] = 0x3;
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 1), IN_GPA),
		 HV_STATUS_INVALID_HYPERCALL_INPUT);
	IN[3] = 0x1;
	IN[4] = 0;
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX, 0, 1), IN_GPA),
		 HV_STATUS_INVALID_PARAMETER);
}

TEST(tlb_flush_list_pages)
{
	setup();
	IN[0] = 0x1000;
	IN[1] = 0;
	IN[2] = 0x2;
	IN[3] = 0x7000;          /* one page */
	IN[4] = 0xffff800000001002ull; /* three pages */
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 2, 0), IN_GPA), 2ull << 32);
	CHECK_EQ(bes[1].flush_count, 4);
	CHECK_EQ(bes[1].flushes[0].kind, TLB_FLUSH_ADDR);
	CHECK_EQ(bes[1].flushes[0].gva, 0x7000);
	CHECK_EQ(bes[1].flushes[3].gva, 0xffff800000003000ull);
	CHECK_EQ(bes[0].flush_count + bes[2].flush_count, 0);
	/* More than 64 pages, or a non-canonical address: the whole tag. */
	IN[4] = 0x10000 | 0x80;
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 2, 0), IN_GPA), 2ull << 32);
	CHECK_EQ(bes[1].flush_count, 1);
	CHECK_EQ(bes[1].flushes[0].kind, TLB_FLUSH_ALL);
	IN[4] = 0x0000900000000000ull;
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 2, 0), IN_GPA), 2ull << 32);
	CHECK_EQ(bes[1].flushes[0].kind, TLB_FLUSH_ALL);
	/* Non-global makes no sense for a list (TLFS 9.4.4). */
	IN[1] = HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY;
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 2, 0), IN_GPA),
		 HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(bes[1].flush_count, 0);
	/* A list crossing the page: alignment, before anything is done. */
	IN[1] = 0;
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 510, 0), IN_GPA + 0x18),
		 HV_STATUS_INVALID_ALIGNMENT);
}

TEST(tlb_flush_list_ex_and_continuation)
{
	setup();
	IN[0] = 0x1000;
	IN[1] = 0;
	IN[2] = HV_GENERIC_SET_SPARSE_4K;
	IN[3] = 0x1;
	IN[4] = 0x4; /* VP 2 */
	IN[5] = 0x5000;
	CHECK_EQ(call(reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX, 1, 1), IN_GPA), 1ull << 32);
	CHECK_EQ(bes[2].flush_count, 1);
	CHECK_EQ(bes[2].flushes[0].gva, 0x5000);
	/* 500 elements and a TSC that makes each round end early (TLFS 3.3):
	 * every round flushes its own elements before the continuation. */
	IN[2] = 0x2;
	for (int i = 0; i < 500; i++)
		IN[3 + i] = 0x100000 + 0x1000ull * i;
	u64 in = reps(HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, 500, 0);
	vps[0].gpr[GPR_RCX] = in;
	vps[0].gpr[GPR_RDX] = IN_GPA;
	fake_tsc_step = 2000; /* the 50 us budget is 50000 ticks */
	int rounds = 0, total = 0;
	u32 start = 0;
	for (;;) {
		bes[1].flush_count = 0;
		enum hv_action a = hv_handle_hypercall(&vps[0], NULL);
		rounds++;
		u32 next = a == HV_ACT_RESUME ? (u32)(vps[0].gpr[GPR_RCX] >> 48) & 0xfff : 500;
		CHECK(next > start);
		CHECK_EQ(bes[1].flush_count, next - start);
		CHECK_EQ(bes[1].flushes[0].gva, 0x100000 + 0x1000ull * start);
		total += bes[1].flush_count;
		start = next;
		if (a != HV_ACT_RESUME || rounds > 100)
			break;
	}
	fake_tsc_step = 1;
	CHECK(rounds > 2);
	CHECK_EQ(total, 500);
	CHECK_EQ(vps[0].gpr[GPR_RAX], 500ull << 32);
}

TEST(tlb_fast_forms)
{
	setup();
	part.features_edx |= HV_FEATURE_XMM_HYPERCALL_INPUT;
	/* Fast: AddressSpace in RDX, Flags in R8, the mask in XMM0 low. */
	vps[0].gpr[GPR_RCX] = HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | HV_HC_FAST;
	vps[0].gpr[GPR_RDX] = 0x1000;
	vps[0].gpr[GPR_R8] = 0;
	memset(fake_xmm, 0, sizeof(fake_xmm));
	fake_xmm[0] = 0x4;
	for (int i = 0; i < NVP; i++)
		bes[i].flush_count = 0;
	CHECK_EQ(hv_handle_hypercall(&vps[0], NULL), HV_ACT_ADVANCE);
	CHECK_EQ(vps[0].gpr[GPR_RAX], 0);
	CHECK_EQ(bes[2].flush_count, 1);
	CHECK_EQ(bes[1].flush_count, 0);
}

TEST(tlb_switch_address_space)
{
	setup();
	bes[0].regs[GREG_CR3] = 0x1000;
	IN[0] = 0x5000;
	CHECK_EQ(call(HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE, IN_GPA), 0);
	CHECK_EQ(bes[0].regs[GREG_CR3], 0x5000);
	CHECK_EQ(bes[0].flush_count, 0); /* no flush, unlike MOV to CR3 */
	IN[0] = BIT(40);
	CHECK_EQ(call(HVCALL_SWITCH_VIRTUAL_ADDRESS_SPACE, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(bes[0].regs[GREG_CR3], 0x5000);
}

static int ipis_to(u32 apic, u8 vector)
{
	int n = 0;
	for (int i = 0; i < fake_icr_count && i < 8; i++) {
		u64 v = fake_icr_writes[i];
		/* xAPIC: destination in ICR bits 63:56 */
		if ((u8)v == vector && ((v >> 8) & 7) == 0 && (u32)(v >> 56) == apic)
			n++;
	}
	return n;
}

TEST(tlb_send_ipi)
{
	setup();
	IN[0] = 0x30;
	IN[1] = 0x6;
	CHECK_EQ(call(HVCALL_SEND_IPI, IN_GPA), 0);
	CHECK_EQ(fake_icr_count, 2);
	CHECK_EQ(ipis_to(11, 0x30), 1);
	CHECK_EQ(ipis_to(12, 0x30), 1);
	fake_icr_count = 0;
	IN[0] = 0x0f;
	CHECK_EQ(call(HVCALL_SEND_IPI, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	IN[0] = 0x100;
	CHECK_EQ(call(HVCALL_SEND_IPI, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	IN[0] = 0x30 | (0x10ull << 32); /* HV_INPUT_VTL: use VTL 0 */
	CHECK_EQ(call(HVCALL_SEND_IPI, IN_GPA), 0);
	IN[0] = 0x30 | (0x11ull << 32); /* VTL 1 does not exist */
	CHECK_EQ(call(HVCALL_SEND_IPI, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	IN[0] = 0x30 | (0x20ull << 32); /* reserved VTL bits */
	CHECK_EQ(call(HVCALL_SEND_IPI, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	IN[0] = 0x30 | (0x1ull << 48); /* reserved byte */
	CHECK_EQ(call(HVCALL_SEND_IPI, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	IN[0] = 0x30;
	IN[1] = BIT(5);
	fake_icr_count = 0;
	CHECK_EQ(call(HVCALL_SEND_IPI, IN_GPA), HV_STATUS_INVALID_PARAMETER);
	CHECK_EQ(fake_icr_count, 0); /* nothing sent when any target is bad */
	/* Ex: sparse and all. */
	IN[1] = HV_GENERIC_SET_SPARSE_4K;
	IN[2] = 0x1;
	IN[3] = 0x1;
	CHECK_EQ(call(reps(HVCALL_SEND_IPI_EX, 0, 1), IN_GPA), 0);
	CHECK_EQ(fake_icr_count, 1);
	CHECK_EQ(ipis_to(10, 0x30), 1);
	fake_icr_count = 0;
	IN[1] = HV_GENERIC_SET_ALL;
	IN[2] = 0;
	CHECK_EQ(call(reps(HVCALL_SEND_IPI_EX, 0, 0), IN_GPA), 0);
	CHECK_EQ(fake_icr_count, 3);
}

TEST(xcall_skips_parked_vp)
{
	setup();
	fake_relax_hook = NULL; /* VP 1 never answers ... */
	vps[1].parked = 1;      /* ... because it is parked */
	IN[0] = 0x1000;
	IN[2] = 0x3;
	CHECK_EQ(call(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, IN_GPA), 0);
	CHECK_EQ(bes[0].flush_count, 1);
	CHECK(vps[1].xcall == NULL);
	fake_relax_hook = NULL;
}
