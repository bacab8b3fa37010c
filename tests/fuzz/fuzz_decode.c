/*
 * fuzz_decode.c - the decoders of guest input that hypercall handlers
 * share: processor sets (hv/vpset.c, TLFS 7.8.7.3-7.8.7.5: the 64-bit
 * mask and the sparse HV_VP_SET), the targets of a call (hv/hypercall.c:
 * PartitionId, HV_INPUT_VTL, VP index, TLFS 7.8.1, 15.x), and the
 * HV_INITIAL_VP_CONTEXT with its checks (hv/cpu_state.c, TLFS 7.10.3).
 * (The hypercall input value itself is decoded in the hypercall target.)
 *
 * Every decoder reads its input from a heap block of exactly the size
 * the caller may rely on, so ASan sees a read past it. Oracles: the
 * decoders agree with models written from the TLFS text here (the set's
 * meaning: which VPs it names; the policy statuses of hv/vpset.c's
 * header), and the context checks accept only what they promise.
 */
#include "harness.h"
#include "cpu_state.h"
#include <stdlib.h>
#include <string.h>

static struct partition part;
static struct vp vps[64];

static void check_vpset(struct fz *f, u64 all)
{
	u32 banks = fz_u8(f) % 66;
	size_t len = 16 + 8ull * banks;
	u8 *set = malloc(len);
	u8 shape = fz_u8(f);
	fz_bytes(f, set, len);
	u64 fmt = *(u64 *)set, valid = *(u64 *)(set + 8);
	if (shape & 1) { /* a well-formed header, the banks as fuzzed */
		fmt = (shape & 2) ? HV_GENERIC_SET_ALL : HV_GENERIC_SET_SPARSE_4K;
		if (shape & 4)
			valid = banks >= 64 ? ~0ull : (1ull << banks) - 1;
		memcpy(set, &fmt, 8);
		memcpy(set + 8, &valid, 8);
	}
	u64 mask = 0xdeadbeefull;
	u16 st = vpset_parse(&part, set, banks, &mask);

	/* The model (TLFS 7.8.7.4; policy in hv/vpset.c). */
	u16 want;
	u64 named = 0;
	bool beyond = false;
	if (fmt != HV_GENERIC_SET_SPARSE_4K && fmt != HV_GENERIC_SET_ALL) {
		want = HV_STATUS_INVALID_PARAMETER;
	} else if ((u32)__builtin_popcountll(valid) != banks) {
		want = HV_STATUS_INVALID_HYPERCALL_INPUT;
	} else if (fmt == HV_GENERIC_SET_ALL) {
		want = HV_STATUS_SUCCESS;
		named = all;
	} else {
		u32 w = 0;
		for (u32 b = 0; b < 64; b++) {
			if (!(valid & (1ull << b)))
				continue;
			u64 bits;
			memcpy(&bits, set + 16 + 8 * w++, 8);
			if (b == 0)
				named = bits;
			else if (bits)
				beyond = true; /* VP index 64 or more: none exists */
		}
		want = beyond || (named & ~all) ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS;
	}
	FZ_CHECK(st == want, "vpset_parse: status %x, model %x (format %llx, valid %llx, %u banks)",
		 st, want, (unsigned long long)fmt, (unsigned long long)valid, banks);
	if (st == HV_STATUS_SUCCESS)
		FZ_CHECK(mask == named, "vpset_parse: mask %llx, model %llx", (unsigned long long)mask,
			 (unsigned long long)named);
	free(set);

	u64 m = fz_u64(f);
	u16 ms = vpset_mask_check(&part, m);
	FZ_CHECK(ms == ((m & ~all) ? HV_STATUS_INVALID_PARAMETER : HV_STATUS_SUCCESS),
		 "vpset_mask_check(%llx): %x with VPs %llx", (unsigned long long)m, ms,
		 (unsigned long long)all);
}

static void check_targets(struct fz *f)
{
	u64 pid = fz_bool(f) ? fz_u64(f) : fz_bool(f) ? HV_PARTITION_ID_SELF : HV_PARTITION_ID_ROOT;
	u16 st = hc_target_partition(pid);
	FZ_CHECK(st == ((pid == HV_PARTITION_ID_SELF || pid == HV_PARTITION_ID_ROOT)
				? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARTITION_ID),
		 "partition id %llx: %x", (unsigned long long)pid, st);
	/* HV_INPUT_VTL: bits 3:0 the VTL, bit 4 use it, 7:5 RsvdZ; VTL 0 only. */
	u8 vtl = fz_u8(f);
	bool vtl_ok = !(vtl & 0xe0) && (!(vtl & 0x10) || !(vtl & 0x0f));
	FZ_CHECK(hc_target_vtl(vtl) == (vtl_ok ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PARAMETER),
		 "input VTL %02x", vtl);
	u32 index = fz_bool(f) ? HV_VP_INDEX_SELF : fz_bool(f) ? fz_u32(f) : fz_u8(f) % 70;
	struct vp *caller = part.vps[0], *t = NULL;
	if (!caller)
		return;
	st = hc_target_vp(caller, index, &t);
	struct vp *want = index == HV_VP_INDEX_SELF ? caller
			  : index < part.vp_count ? part.vps[index] : NULL;
	FZ_CHECK(st == (want ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_VP_INDEX) && (!want || t == want),
		 "VP index %x: status %x", index, st);
}

static void check_context(struct fz *f)
{
	u8 *x = malloc(224); /* HV_INITIAL_VP_CONTEXT */
	fz_bytes(f, x, 224);
	struct guest_boot_state g;
	memset(&g, 0x5a, sizeof(g));
	cpu_state_parse_initial_context(x, &g);
	u64 cr4_have = fz_u32(f);
	u16 st = cpu_state_check(&part, &g, cr4_have);
	FZ_CHECK(st == HV_STATUS_SUCCESS || st == HV_STATUS_INVALID_REGISTER_VALUE,
		 "cpu_state_check: status %x", st);
	if (st == HV_STATUS_SUCCESS) {
		/* TLFS 7.10.3: protected or long mode, consistent. */
		FZ_CHECK(g.cr0 & CR0_PE, "accepted a context without CR0.PE");
		FZ_CHECK(!(g.efer & EFER_LMA) || ((g.cr0 & CR0_PG) && (g.cr4 & CR4_PAE)),
			 "accepted long mode without paging and PAE");
		FZ_CHECK(!(g.cr0 & CR0_PG) || (g.cr0 & CR0_PE), "accepted paging without protection");
		FZ_CHECK(cpu_state_pat_valid(g.pat), "accepted an invalid PAT %llx",
			 (unsigned long long)g.pat);
		FZ_CHECK(!(g.rflags & RFLAGS_RSVD) && (g.rflags & RFLAGS_FIXED1),
			 "accepted RFLAGS %llx", (unsigned long long)g.rflags);
	}
	free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	memset(&part, 0, sizeof(part));
	part.phys_addr_bits = FZ_PHYS_BITS;
	u32 n = fz_u8(&f) % 65;
	u64 holes = fz_bool(&f) ? fz_u64(&f) : 0; /* indexes without a VP */
	part.vp_count = n;
	u64 all = 0;
	for (u32 i = 0; i < n; i++) {
		part.vps[i] = (i && (holes >> i) & 1) ? NULL : &vps[i];
		if (part.vps[i]) {
			vps[i].index = i;
			vps[i].part = &part;
			all |= 1ull << i;
		}
	}
	FZ_CHECK(vpset_all(&part) == all, "vpset_all %llx, VPs %llx",
		 (unsigned long long)vpset_all(&part), (unsigned long long)all);
	while (fz_left(&f)) {
		switch (fz_u8(&f) % 3) {
		case 0: check_vpset(&f, all); break;
		case 1: check_targets(&f); break;
		default: check_context(&f); break;
		}
	}
	return 0;
}
