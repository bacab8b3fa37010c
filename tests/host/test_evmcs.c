/*
 * test_evmcs.c - the enlightened VMCS (nested/evmcs.c; TLFS 6.0 16.5,
 * 16.11.2-16.11.4): the field table against the TLFS's encoding table and
 * the SDM's encoding rules, the copy of the dirty groups into a vmcs12
 * (clean groups are not re-read), the write-back at a nested VM exit, the
 * controls eVMCS v1 cannot express, the VP assist page's eVMCS pointer.
 */
#include "htest.h"
#include "fakes.h"
#include "backend.h"
#include "cpuid.h"
#include "evmcs.h"
#include "module.h"
#include "pool.h"
#include "tlfs.h"
#include "vp.h"
#include <string.h>

/* TLFS 16.11.4, transcribed: encoding, width, clean group (0xffffffff:
 * "Read only"). GuestEsAttributes (0x4814) is missing from the TLFS
 * table; it is GUEST_GRP2 like its neighbours (Linux). */
#define RDONLY 0xffffffffu
static const struct {
	u32 enc, width, group;
} tlfs[] = {
	{ 0x681e, 8, 0 }, { 0x401c, 4, 0 },
	{ 0x681c, 8, EVMCS_CLEAN_GUEST_BASIC }, { 0x6820, 8, EVMCS_CLEAN_GUEST_BASIC },
	{ 0x4824, 4, EVMCS_CLEAN_GUEST_BASIC },
	{ 0x4002, 4, EVMCS_CLEAN_CONTROL_PROC }, { 0x4004, 4, EVMCS_CLEAN_CONTROL_EXCPN },
	{ 0x4012, 4, EVMCS_CLEAN_CONTROL_ENTRY }, { 0x4016, 4, EVMCS_CLEAN_CONTROL_EVENT },
	{ 0x4018, 4, EVMCS_CLEAN_CONTROL_EVENT }, { 0x401a, 4, EVMCS_CLEAN_CONTROL_EVENT },
	{ 0x0c00, 2, EVMCS_CLEAN_HOST_GRP1 }, { 0x0c02, 2, EVMCS_CLEAN_HOST_GRP1 },
	{ 0x0c04, 2, EVMCS_CLEAN_HOST_GRP1 }, { 0x0c06, 2, EVMCS_CLEAN_HOST_GRP1 },
	{ 0x0c08, 2, EVMCS_CLEAN_HOST_GRP1 }, { 0x0c0a, 2, EVMCS_CLEAN_HOST_GRP1 },
	{ 0x0c0c, 2, EVMCS_CLEAN_HOST_GRP1 }, { 0x2c00, 8, EVMCS_CLEAN_HOST_GRP1 },
	{ 0x2c02, 8, EVMCS_CLEAN_HOST_GRP1 }, { 0x6c00, 8, EVMCS_CLEAN_HOST_GRP1 },
	{ 0x6c02, 8, EVMCS_CLEAN_HOST_GRP1 }, { 0x6c04, 8, EVMCS_CLEAN_HOST_GRP1 },
	{ 0x6c10, 8, EVMCS_CLEAN_HOST_GRP1 }, { 0x6c12, 8, EVMCS_CLEAN_HOST_GRP1 },
	{ 0x6c16, 8, EVMCS_CLEAN_HOST_GRP1 }, { 0x4c00, 4, EVMCS_CLEAN_HOST_GRP1 },
	{ 0x4000, 4, EVMCS_CLEAN_CONTROL_GRP1 }, { 0x400c, 4, EVMCS_CLEAN_CONTROL_GRP1 },
	{ 0x401e, 4, EVMCS_CLEAN_CONTROL_GRP1 },
	{ 0x2000, 8, EVMCS_CLEAN_IO_BITMAP }, { 0x2002, 8, EVMCS_CLEAN_IO_BITMAP },
	{ 0x2004, 8, EVMCS_CLEAN_MSR_BITMAP },
	{ 0x0800, 2, EVMCS_CLEAN_GUEST_GRP2 }, { 0x0802, 2, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x0804, 2, EVMCS_CLEAN_GUEST_GRP2 }, { 0x0806, 2, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x0808, 2, EVMCS_CLEAN_GUEST_GRP2 }, { 0x080a, 2, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x080c, 2, EVMCS_CLEAN_GUEST_GRP2 }, { 0x080e, 2, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x4800, 4, EVMCS_CLEAN_GUEST_GRP2 }, { 0x4802, 4, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x4804, 4, EVMCS_CLEAN_GUEST_GRP2 }, { 0x4806, 4, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x4808, 4, EVMCS_CLEAN_GUEST_GRP2 }, { 0x480a, 4, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x480c, 4, EVMCS_CLEAN_GUEST_GRP2 }, { 0x480e, 4, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x4810, 4, EVMCS_CLEAN_GUEST_GRP2 }, { 0x4812, 4, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x4814, 4, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x4816, 4, EVMCS_CLEAN_GUEST_GRP2 }, { 0x4818, 4, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x481a, 4, EVMCS_CLEAN_GUEST_GRP2 }, { 0x481c, 4, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x481e, 4, EVMCS_CLEAN_GUEST_GRP2 }, { 0x4820, 4, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x4822, 4, EVMCS_CLEAN_GUEST_GRP2 }, { 0x6806, 8, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x6808, 8, EVMCS_CLEAN_GUEST_GRP2 }, { 0x680a, 8, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x680c, 8, EVMCS_CLEAN_GUEST_GRP2 }, { 0x680e, 8, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x6810, 8, EVMCS_CLEAN_GUEST_GRP2 }, { 0x6812, 8, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x6814, 8, EVMCS_CLEAN_GUEST_GRP2 }, { 0x6816, 8, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x6818, 8, EVMCS_CLEAN_GUEST_GRP2 },
	{ 0x2010, 8, EVMCS_CLEAN_CONTROL_GRP2 }, { 0x2012, 8, EVMCS_CLEAN_CONTROL_GRP2 },
	{ 0x2800, 8, EVMCS_CLEAN_GUEST_GRP1 }, { 0x2802, 8, EVMCS_CLEAN_GUEST_GRP1 },
	{ 0x2804, 8, EVMCS_CLEAN_GUEST_GRP1 }, { 0x2806, 8, EVMCS_CLEAN_GUEST_GRP1 },
	{ 0x280a, 8, EVMCS_CLEAN_GUEST_GRP1 }, { 0x280c, 8, EVMCS_CLEAN_GUEST_GRP1 },
	{ 0x280e, 8, EVMCS_CLEAN_GUEST_GRP1 }, { 0x2810, 8, EVMCS_CLEAN_GUEST_GRP1 },
	{ 0x6822, 8, EVMCS_CLEAN_GUEST_GRP1 }, { 0x6824, 8, EVMCS_CLEAN_GUEST_GRP1 },
	{ 0x6826, 8, EVMCS_CLEAN_GUEST_GRP1 }, { 0x4826, 4, EVMCS_CLEAN_GUEST_GRP1 },
	{ 0x482a, 4, EVMCS_CLEAN_GUEST_GRP1 },
	{ 0x6000, 8, EVMCS_CLEAN_CRDR }, { 0x6002, 8, EVMCS_CLEAN_CRDR },
	{ 0x6004, 8, EVMCS_CLEAN_CRDR }, { 0x6006, 8, EVMCS_CLEAN_CRDR },
	{ 0x6800, 8, EVMCS_CLEAN_CRDR }, { 0x6802, 8, EVMCS_CLEAN_CRDR },
	{ 0x6804, 8, EVMCS_CLEAN_CRDR }, { 0x681a, 8, EVMCS_CLEAN_CRDR },
	{ 0x6c06, 8, EVMCS_CLEAN_HOST_POINTER }, { 0x6c08, 8, EVMCS_CLEAN_HOST_POINTER },
	{ 0x6c0a, 8, EVMCS_CLEAN_HOST_POINTER }, { 0x6c0c, 8, EVMCS_CLEAN_HOST_POINTER },
	{ 0x6c0e, 8, EVMCS_CLEAN_HOST_POINTER }, { 0x6c14, 8, EVMCS_CLEAN_HOST_POINTER },
	{ 0x0000, 2, EVMCS_CLEAN_CONTROL_XLAT }, { 0x201a, 8, EVMCS_CLEAN_CONTROL_XLAT },
	{ 0x2812, 8, EVMCS_CLEAN_GUEST_GRP1 },
	{ 0x202c, 8, EVMCS_CLEAN_CONTROL_GRP2 }, { 0x202e, 8, EVMCS_CLEAN_CONTROL_GRP2 },
	{ 0x2400, 8, RDONLY }, { 0x4400, 4, RDONLY }, { 0x4402, 4, RDONLY },
	{ 0x4404, 4, RDONLY }, { 0x4406, 4, RDONLY }, { 0x4408, 4, RDONLY },
	{ 0x440a, 4, RDONLY }, { 0x440c, 4, RDONLY }, { 0x440e, 4, RDONLY },
	{ 0x6400, 8, RDONLY }, { 0x6402, 8, RDONLY }, { 0x6404, 8, RDONLY },
	{ 0x6406, 8, RDONLY }, { 0x6408, 8, RDONLY }, { 0x640a, 8, RDONLY },
};
#define NTLFS (sizeof(tlfs) / sizeof(tlfs[0]))

static const struct evmcs_field *row_of(u32 enc)
{
	for (u32 i = 0; i < evmcs_nfields; i++)
		if (evmcs_fields[i].enc == enc)
			return &evmcs_fields[i];
	return NULL;
}

TEST(evmcs_table_matches_tlfs)
{
	for (u32 k = 0; k < NTLFS; k++) {
		const struct evmcs_field *f = row_of(tlfs[k].enc);
		CHECK(f != NULL);
		if (!f)
			continue;
		CHECK_EQ(f->width, tlfs[k].width);
		if (tlfs[k].group == RDONLY) {
			CHECK(f->flags & EVMCS_F_RO);
			CHECK_EQ(f->group, EVMCS_CLEAN_NONE);
		} else {
			CHECK(!(f->flags & EVMCS_F_RO));
			CHECK_EQ(f->group, tlfs[k].group);
		}
	}
	/* Beyond the TLFS table only the fields Linux puts in "ALL" (the MSR
	 * lists, CR3 targets, #PF error-code mask/match). */
	u32 extra = 0;
	for (u32 i = 0; i < evmcs_nfields; i++) {
		bool in = false;
		for (u32 k = 0; k < NTLFS; k++)
			in |= tlfs[k].enc == evmcs_fields[i].enc;
		if (!in) {
			extra++;
			CHECK_EQ(evmcs_fields[i].group, EVMCS_CLEAN_ALL);
		}
	}
	CHECK_EQ(extra, 13);
	CHECK_EQ(evmcs_nfields, NTLFS + 13);
}

/* SDM vol. 3 appendix B: bit 0 access type (0: full), bits 9:1 index,
 * 11:10 type (0 control, 1 VM-exit information, 2 guest, 3 host), bit 12
 * reserved, 14:13 width (16, 64, 32 bit, natural), 31:15 reserved. */
TEST(evmcs_table_encodings_well_formed)
{
	static const u8 width[4] = { 2, 8, 4, 8 };
	for (u32 i = 0; i < evmcs_nfields; i++) {
		const struct evmcs_field *f = &evmcs_fields[i];
		CHECK_EQ(f->enc & 1, 0);
		CHECK_EQ(f->enc & 0xffff9000u, 0);
		CHECK_EQ(f->width, width[(f->enc >> 13) & 3]);
		u32 type = (f->enc >> 10) & 3;
		CHECK_EQ(type == 1, !!(f->flags & EVMCS_F_RO));
		/* Written back at an exit: the exit information and guest
		 * state, never a host field; no control but the ones an exit
		 * changes (KVM's copy_vmcs12_to_enlightened). */
		if (f->flags & EVMCS_F_OUT) {
			CHECK(type != 3);
			if (type == 0)
				CHECK(f->enc == 0x4002 || f->enc == 0x4012 || f->enc == 0x4016 ||
				      f->enc == 0x4018 || f->enc == 0x401a);
		}
		if (type == 1 || type == 2)
			CHECK((f->flags & EVMCS_F_OUT) || f->enc == 0x2800);
		for (u32 j = 0; j < i; j++)
			CHECK(evmcs_fields[j].enc != f->enc);
	}
}

TEST(evmcs_table_offsets)
{
	static u8 owner[sizeof(struct hv_enlightened_vmcs)];
	memset(owner, 0, sizeof(owner));
	for (u32 i = 0; i < evmcs_nfields; i++) {
		const struct evmcs_field *f = &evmcs_fields[i];
		CHECK(f->off + f->width <= sizeof(struct hv_enlightened_vmcs));
		CHECK_EQ(f->off % f->width, 0); /* natural alignment */
		for (u32 b = f->off; b < f->off + f->width && b < sizeof(owner); b++) {
			CHECK(owner[b] == 0); /* no overlap */
			owner[b] = 1;
		}
	}
	/* The synthetic fields are no VMCS field's. */
	CHECK(!owner[offsetof(struct hv_enlightened_vmcs, revision_id)]);
	CHECK(!owner[offsetof(struct hv_enlightened_vmcs, hv_clean_fields)]);
	CHECK(!owner[offsetof(struct hv_enlightened_vmcs, hv_enlightenments_control)]);
	CHECK(!owner[offsetof(struct hv_enlightened_vmcs, hv_vp_id)]);
	CHECK(!owner[offsetof(struct hv_enlightened_vmcs, hv_vm_id)]);
	CHECK(!owner[offsetof(struct hv_enlightened_vmcs, partition_assist_page)]);
	/* Spot checks against the struct by name. */
	CHECK_EQ(row_of(0x681e)->off, offsetof(struct hv_enlightened_vmcs, guest_rip));
	CHECK_EQ(row_of(0x4402)->off, offsetof(struct hv_enlightened_vmcs, vm_exit_reason));
	CHECK_EQ(row_of(0x201a)->off, offsetof(struct hv_enlightened_vmcs, ept_pointer));
	CHECK_EQ(row_of(0x0000)->off, offsetof(struct hv_enlightened_vmcs, virtual_processor_id));
}

/* ---- a stand-in vmcs12: one 8-byte slot per field, the field stored at
 * the slot's start with a width of the test's choosing ------------------ */

struct fake12 {
	u64 slot[EVMCS_MAX_FIELDS];
};
static u32 missing_enc = 0xffffffffu; /* a field the fake does not hold */
static bool wide32;                   /* 32-bit fields stored as 8 bytes */

static bool fake_field(u32 enc, u16 *off, u8 *width)
{
	if (enc == missing_enc)
		return false;
	for (u32 i = 0; i < evmcs_nfields; i++) {
		if (evmcs_fields[i].enc != enc)
			continue;
		/* Slots in reverse table order: the offsets differ from the
		 * eVMCS's and from the table index. */
		*off = (u16)(8 * (evmcs_nfields - 1 - i));
		u8 w = evmcs_fields[i].width;
		*width = (wide32 && w == 4) ? 8 : w;
		return true;
	}
	return false;
}

static u64 slot_of(const struct fake12 *v, u32 enc)
{
	for (u32 i = 0; i < evmcs_nfields; i++)
		if (evmcs_fields[i].enc == enc)
			return v->slot[evmcs_nfields - 1 - i];
	return ~0ull;
}

static u64 ev_get(const struct hv_enlightened_vmcs *e, const struct evmcs_field *f)
{
	u64 v = 0;
	memcpy(&v, (const u8 *)e + f->off, f->width);
	return v;
}

/* Every VMCS field of the eVMCS a distinct value (tag + row index). */
static void fill(struct hv_enlightened_vmcs *e, u64 tag)
{
	for (u32 i = 0; i < evmcs_nfields; i++) {
		u64 v = tag + i;
		memcpy((u8 *)e + evmcs_fields[i].off, &v, evmcs_fields[i].width);
	}
}

static u64 trunc_w(u64 v, u8 w) { return w == 8 ? v : v & ((1ull << (8 * w)) - 1); }

static struct evmcs_map map;
static struct hv_enlightened_vmcs ev __attribute__((aligned(4096)));
static struct fake12 v12;

TEST(evmcs_map_classes)
{
	missing_enc = 0xffffffffu;
	wide32 = false;
	CHECK_EQ(evmcs_map_init(&map, fake_field), 0);
	CHECK_EQ(map.missing, 0);
	CHECK_EQ(map.class_start[0], 0);
	CHECK_EQ(map.class_start[EVMCS_CLASSES], evmcs_nfields);
	for (u32 c = 0; c < EVMCS_CLASSES; c++) {
		CHECK(map.class_start[c] <= map.class_start[c + 1]);
		for (u32 i = map.class_start[c]; i < map.class_start[c + 1]; i++) {
			const struct evmcs_field *f = &evmcs_fields[i];
			if (c == 0)
				CHECK(f->group == 0 && !(f->flags & EVMCS_F_RO));
			else if (c <= 16)
				CHECK_EQ(f->group, 1u << (c - 1));
			else if (c == 17)
				CHECK_EQ(f->group, EVMCS_CLEAN_ALL);
			else
				CHECK(f->flags & EVMCS_F_RO);
		}
	}
	/* ENLIGHTENMENTSCONTROL (bit 15) has no VMCS field. */
	CHECK_EQ(map.class_start[16], map.class_start[17]);
	u32 outs = 0;
	for (u32 i = 0; i < evmcs_nfields; i++)
		outs += !!(evmcs_fields[i].flags & EVMCS_F_OUT);
	CHECK_EQ(map.nout_fields, outs);
	CHECK(map.nout <= outs);
}

/* Clean 0 (a first entry): every field L1 may write, none of the exit
 * information (read only: L1's values there are ignored). */
TEST(evmcs_load_all)
{
	wide32 = false;
	missing_enc = 0xffffffffu;
	evmcs_map_init(&map, fake_field);
	memset(&v12, 0xee, sizeof(v12));
	fill(&ev, 0x1000);
	u32 read = evmcs_load(&map, &v12, &ev, 0);
	CHECK_EQ(read, 0x1ffff);
	for (u32 i = 0; i < evmcs_nfields; i++) {
		const struct evmcs_field *f = &evmcs_fields[i];
		u64 got = trunc_w(slot_of(&v12, f->enc), f->width);
		if (f->flags & EVMCS_F_RO)
			CHECK_EQ(got, trunc_w(0xeeeeeeeeeeeeeeeeull, f->width));
		else
			CHECK_EQ(got, trunc_w(0x1000 + i, f->width));
	}
}

/* For each group: dirty alone, exactly its fields (and NONE's) are read;
 * the others keep the vmcs12's values although the eVMCS changed
 * (TLFS 16.5.2: a clean group is not re-read). */
TEST(evmcs_load_dirty_groups_only)
{
	wide32 = false;
	missing_enc = 0xffffffffu;
	evmcs_map_init(&map, fake_field);
	for (u32 b = 0; b <= 16; b++) {
		memset(&v12, 0, sizeof(v12));
		fill(&ev, 0x1000);
		evmcs_load(&map, &v12, &ev, 0);
		fill(&ev, 0x2000);
		/* b < 16: group bit b dirty; b == 16: every bit clean */
		u32 clean = b < 16 ? (EVMCS_CLEAN_ALL & ~(1u << b)) : EVMCS_CLEAN_ALL;
		u32 read = evmcs_load(&map, &v12, &ev, clean);
		CHECK_EQ(read, b < 16 ? ((1u << b) | (1u << 16)) : 0);
		for (u32 i = 0; i < evmcs_nfields; i++) {
			const struct evmcs_field *f = &evmcs_fields[i];
			if (f->flags & EVMCS_F_RO)
				continue;
			bool reread = f->group == EVMCS_CLEAN_NONE ||
				      (b < 16 && (f->group == (1u << b) || f->group == EVMCS_CLEAN_ALL));
			u64 got = slot_of(&v12, f->enc);
			CHECK_EQ(got, trunc_w((reread ? 0x2000 : 0x1000) + i, f->width));
		}
	}
}

/* The guest state L2 left and the exit information go back into the
 * eVMCS; controls, host state, bitmaps and the synthetic fields do not;
 * every group is clean afterwards. */
TEST(evmcs_store_exit_fields)
{
	wide32 = false;
	missing_enc = 0xffffffffu;
	evmcs_map_init(&map, fake_field);
	memset(&ev, 0, sizeof(ev));
	fill(&ev, 0x1000);
	ev.revision_id = EVMCS_VERSION;
	ev.hv_clean_fields = EVMCS_CLEAN_GUEST_GRP2;
	ev.hv_enlightenments_control = EVMCS_ENL_MSR_BITMAP;
	ev.hv_vp_id = 3;
	ev.hv_vm_id = 0x77;
	ev.partition_assist_page = 0x5000;
	for (u32 i = 0; i < evmcs_nfields; i++)
		v12.slot[evmcs_nfields - 1 - i] = 0x3000 + i;
	evmcs_store(&map, &ev, &v12);
	for (u32 i = 0; i < evmcs_nfields; i++) {
		const struct evmcs_field *f = &evmcs_fields[i];
		u64 want = (f->flags & EVMCS_F_OUT) ? 0x3000 + i : 0x1000 + i;
		CHECK_EQ(ev_get(&ev, f), trunc_w(want, f->width));
	}
	CHECK_EQ(ev.hv_clean_fields, EVMCS_CLEAN_ALL);
	CHECK_EQ(ev.revision_id, EVMCS_VERSION);
	CHECK_EQ(ev.hv_enlightenments_control, EVMCS_ENL_MSR_BITMAP);
	CHECK_EQ(ev.hv_vp_id, 3);
	CHECK_EQ(ev.hv_vm_id, 0x77);
	CHECK_EQ(ev.partition_assist_page, 0x5000);
	/* By name: the exit reason, qualification, guest RIP out; host RIP,
	 * the MSR bitmap and the exception bitmap not. */
	CHECK(ev.vm_exit_reason == 0x3000 + (u32)(row_of(0x4402) - evmcs_fields));
	CHECK(ev.host_rip == 0x1000 + (u64)(row_of(0x6c16) - evmcs_fields));
	CHECK(ev.msr_bitmap == 0x1000 + (u64)(row_of(0x2004) - evmcs_fields));
	CHECK(ev.exception_bitmap == 0x1000 + (u32)(row_of(0x4004) - evmcs_fields));
}

/* A vmcs12 laid out as the eVMCS (each field at its eVMCS offset): the
 * write-back merges neighbours into runs (the segment fields, the exit
 * information) and still writes exactly the OUT fields. */
static bool same_layout(u32 enc, u16 *off, u8 *width)
{
	const struct evmcs_field *f = row_of(enc);
	if (!f)
		return false;
	*off = f->off;
	*width = f->width;
	return true;
}

TEST(evmcs_store_runs)
{
	static struct hv_enlightened_vmcs src __attribute__((aligned(4096)));
	CHECK_EQ(evmcs_map_init(&map, same_layout), 0);
	CHECK(map.nout < map.nout_fields / 2); /* runs did merge */
	fill(&ev, 0x1000);
	fill(&src, 0x7000);
	ev.hv_clean_fields = 0;
	evmcs_store(&map, &ev, &src);
	for (u32 i = 0; i < evmcs_nfields; i++) {
		const struct evmcs_field *f = &evmcs_fields[i];
		u64 want = (f->flags & EVMCS_F_OUT) ? 0x7000 + i : 0x1000 + i;
		CHECK_EQ(ev_get(&ev, f), trunc_w(want, f->width));
	}
	CHECK_EQ(ev.hv_clean_fields, EVMCS_CLEAN_ALL);
}

/* Widths differ between the two layouts: a 32-bit field the vmcs12 keeps
 * in 8 bytes is zero-extended in and truncated out; a field the vmcs12
 * does not hold is neither read nor written. */
TEST(evmcs_widths_and_missing)
{
	wide32 = true;
	missing_enc = 0x202e; /* ENCLS-exiting bitmap */
	CHECK_EQ(evmcs_map_init(&map, fake_field), 0);
	CHECK_EQ(map.missing, 1);
	memset(&v12, 0xee, sizeof(v12));
	fill(&ev, 0xfffffff0ull);
	evmcs_load(&map, &v12, &ev, 0);
	const struct evmcs_field *f = row_of(0x4824); /* interruptibility, 32 bit */
	u32 i = (u32)(f - evmcs_fields);
	CHECK_EQ(slot_of(&v12, 0x4824), (u32)(0xfffffff0ull + i)); /* upper half zero */
	CHECK_EQ(v12.slot[evmcs_nfields - 1 - (u32)(row_of(0x202e) - evmcs_fields)],
		 0xeeeeeeeeeeeeeeeeull);
	v12.slot[evmcs_nfields - 1 - i] = 0x1234567800000042ull;
	evmcs_store(&map, &ev, &v12);
	CHECK_EQ(ev.guest_interruptibility_info, 0x42);
	wide32 = false;
	missing_enc = 0xffffffffu;
}

/* A table row whose width is not its encoding's, or rows out of class
 * order, would be a build error: evmcs_map_init refuses. (Checked on the
 * real table's invariants: init succeeds, and a lookup that reports a bad
 * width makes the field missing, not a wild copy.) */
static bool bad_width(u32 enc, u16 *off, u8 *width)
{
	*off = 0;
	*width = enc == 0x681e ? 3 : 8;
	return true;
}

TEST(evmcs_map_rejects_bad_width)
{
	CHECK_EQ(evmcs_map_init(&map, bad_width), 0);
	CHECK_EQ(map.missing, 1);
	CHECK_EQ(map.v12_width[row_of(0x681e) - evmcs_fields], 0);
}

TEST(evmcs_controls)
{
	/* What a small L1 (KVM-like) uses: ext-int + NMI exiting, virtual
	 * NMIs; HLT, I/O and MSR bitmaps, secondary; EPT, VPID, unrestricted
	 * guest; IA-32e host, ack on exit, save/load EFER+PAT; IA-32e guest. */
	u32 pin = 0x16 | BIT(0) | BIT(3) | BIT(5);
	u32 proc = 0x0401e172 | BIT(7) | BIT(25) | BIT(28) | BIT(31);
	u32 proc2 = BIT(1) | BIT(5) | BIT(7);
	u32 exit = 0x36dff | BIT(9) | BIT(15) | BIT(18) | BIT(19) | BIT(20) | BIT(21);
	u32 entry = 0x11ff | BIT(9) | BIT(14) | BIT(15);
	CHECK(evmcs_check_controls(pin, proc, proc2, exit, entry) == NULL);
	/* No field for them in eVMCS v1: */
	CHECK(evmcs_check_controls(pin | BIT(6), proc, proc2, exit, entry) != NULL);  /* preemption timer */
	CHECK(evmcs_check_controls(pin | BIT(7), proc, proc2, exit, entry) != NULL);  /* posted interrupts */
	CHECK(evmcs_check_controls(pin, proc | BIT(17), proc2, exit, entry) != NULL); /* tertiary */
	CHECK(evmcs_check_controls(pin, proc, proc2 | BIT(0), exit, entry) != NULL);  /* APIC access */
	CHECK(evmcs_check_controls(pin, proc, proc2 | BIT(9), exit, entry) != NULL);  /* virt. intr. delivery */
	CHECK(evmcs_check_controls(pin, proc, proc2 | BIT(13), exit, entry) != NULL); /* VMFUNC */
	CHECK(evmcs_check_controls(pin, proc, proc2 | BIT(14), exit, entry) != NULL); /* VMCS shadowing */
	CHECK(evmcs_check_controls(pin, proc, proc2 | BIT(17), exit, entry) != NULL); /* PML */
	CHECK(evmcs_check_controls(pin, proc, proc2 | BIT(25), exit, entry) != NULL); /* TSC scaling */
	CHECK(evmcs_check_controls(pin, proc, proc2, exit | BIT(12), entry) != NULL); /* perf global */
	CHECK(evmcs_check_controls(pin, proc, proc2, exit | BIT(22), entry) != NULL); /* save timer */
	CHECK(evmcs_check_controls(pin, proc, proc2, exit, entry | BIT(13)) != NULL); /* perf global */
	/* Secondary controls without "activate secondary controls" count
	 * for nothing (SDM 24.6.2). */
	CHECK(evmcs_check_controls(pin, proc & ~(u32)BIT(31), proc2 | BIT(13), exit, entry) == NULL);
}

TEST(evmcs_assist_page_pointer)
{
	static u8 page[4096];
	memset(page, 0, sizeof(page));
	u64 gpa = 0x1234;
	u64 want = 0x7654000;
	memcpy(page + 0x30, &want, 8);
	CHECK(!evmcs_assist_current(page, &gpa)); /* EnlightenVmEntry clear */
	CHECK_EQ(gpa, 0x1234);
	page[0x28] = 1;
	CHECK(evmcs_assist_current(page, &gpa));
	CHECK_EQ(gpa, want);
	/* The nested control's DirectHypercall (0x20) is not EnlightenVmEntry. */
	page[0x28] = 0;
	page[0x20] = 1;
	CHECK(!evmcs_assist_current(page, &gpa));
}

/* ---- enlightened entries (evmcs_enter/exit/release) ---------------------- */

#define REV12 0x10048u /* a VMCS revision id as IA32_VMX_BASIC gives it */

static u64 field_of(const struct fake12 *v, u32 enc) { return slot_of(v, enc); }

TEST(evmcs_enter_versions_and_clean)
{
	static struct hv_enlightened_vmcs e1 __attribute__((aligned(4096)));
	static struct hv_enlightened_vmcs e2 __attribute__((aligned(4096)));
	struct evmcs_vp s;
	wide32 = false;
	missing_enc = 0xffffffffu;
	evmcs_map_init(&map, fake_field);
	evmcs_release(&s);
	s.entries = s.full_loads = 0;
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	/* TLFS 16.5.1: version 1 only (or, as KVM, the VMCS revision id). */
	e1.revision_id = 2;
	CHECK_EQ(evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, true, REV12), -1);
	CHECK(!s.active);
	CHECK_EQ(s.gpa, ~0ull);
	e1.revision_id = REV12;
	CHECK_EQ(evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, true, REV12), 0);
	e1.revision_id = EVMCS_VERSION;

	/* VMLAUNCH: clean bits ignored, every group read. */
	fill(&e1, 0x1000);
	e1.hv_clean_fields = EVMCS_CLEAN_ALL;
	CHECK_EQ(evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, true, REV12), 0);
	CHECK_EQ(s.read, 0x1ffff);
	CHECK(s.active);
	CHECK_EQ(field_of(&v12, 0x6806), 0x1000 + (u64)(row_of(0x6806) - evmcs_fields));
	/* VMRESUME of the same eVMCS: GUEST_GRP2 clean -> the old ES base
	 * stays although L1 changed it; RIP (NONE) is always read. */
	e1.guest_es_base = 0xabc000;
	e1.guest_rip = 0x401000;
	e1.hv_clean_fields = EVMCS_CLEAN_ALL;
	CHECK_EQ(evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, false, REV12), 0);
	CHECK_EQ(s.read, 0);
	CHECK_EQ(field_of(&v12, 0x6806), 0x1000 + (u64)(row_of(0x6806) - evmcs_fields));
	CHECK_EQ(field_of(&v12, 0x681e), 0x401000);
	/* ... dirty -> the new one. */
	e1.hv_clean_fields = EVMCS_CLEAN_ALL & ~EVMCS_CLEAN_GUEST_GRP2;
	CHECK_EQ(evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, false, REV12), 0);
	CHECK_EQ(s.read, EVMCS_CLEAN_GUEST_GRP2 | BIT(16));
	CHECK_EQ(field_of(&v12, 0x6806), 0xabc000);
	/* Another eVMCS with VMRESUME: all read although all clean. */
	fill(&e2, 0x5000);
	e2.revision_id = EVMCS_VERSION;
	e2.hv_clean_fields = EVMCS_CLEAN_ALL;
	CHECK_EQ(evmcs_enter(&s, &map, &v12, sizeof(v12), &e2, 0x20000, false, REV12), 0);
	CHECK_EQ(s.read, 0x1ffff);
	CHECK_EQ(field_of(&v12, 0x6806), 0x5000 + (u64)(row_of(0x6806) - evmcs_fields));
	CHECK_EQ(s.gpa, 0x20000);
	CHECK_EQ(s.entries, 5);
	CHECK_EQ(s.full_loads, 3); /* the REV12 VMLAUNCH, the VMLAUNCH, e2 */
	/* After a release (VMCLEAR of the eVMCS) the same eVMCS is read whole. */
	evmcs_release(&s);
	CHECK_EQ(evmcs_enter(&s, &map, &v12, sizeof(v12), &e2, 0x20000, false, REV12), 0);
	CHECK_EQ(s.read, 0x1ffff);
}

/* A VMLAUNCH of another eVMCS starts from a zeroed vmcs12: what that
 * eVMCS cannot set (here a field the table has but the test's vmcs12
 * lookup hides, so it is never loaded) must not leak from the last L2
 * (KVM's memset at from_launch). */
TEST(evmcs_enter_launch_zeroes)
{
	static struct hv_enlightened_vmcs e1 __attribute__((aligned(4096)));
	struct evmcs_vp s;
	evmcs_release(&s);
	wide32 = false;
	missing_enc = 0x202e;
	evmcs_map_init(&map, fake_field);
	memset(&v12, 0xee, sizeof(v12));
	memset(&e1, 0, sizeof(e1));
	e1.revision_id = EVMCS_VERSION;
	u32 hidden = evmcs_nfields - 1 - (u32)(row_of(0x202e) - evmcs_fields);
	CHECK_EQ(evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, false, REV12), 0);
	CHECK_EQ(v12.slot[hidden], 0xeeeeeeeeeeeeeeeeull); /* VMRESUME: no zeroing */
	evmcs_release(&s);
	CHECK_EQ(evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, true, REV12), 0);
	CHECK_EQ(v12.slot[hidden], 0);
	missing_enc = 0xffffffffu;
}

/* The enlightened MSR bitmap (TLFS 16.5.3): L1's bitmap may be taken as
 * unchanged only with the control on, its clean bit set, the same eVMCS
 * and not at VMLAUNCH. The synthetic fields follow their own group. */
TEST(evmcs_enter_msr_bitmap_and_synthetic)
{
	static struct hv_enlightened_vmcs e1 __attribute__((aligned(4096)));
	struct evmcs_vp s;
	evmcs_release(&s);
	wide32 = false;
	missing_enc = 0xffffffffu;
	evmcs_map_init(&map, fake_field);
	memset(&e1, 0, sizeof(e1));
	e1.revision_id = EVMCS_VERSION;
	e1.hv_enlightenments_control = EVMCS_ENL_MSR_BITMAP;
	e1.hv_vp_id = 7;
	e1.hv_vm_id = 0x99;
	e1.partition_assist_page = 0x3000;
	e1.hv_clean_fields = EVMCS_CLEAN_ALL;
	evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, true, REV12);
	CHECK(!s.msr_bitmap_same); /* VMLAUNCH */
	CHECK_EQ(s.enl_ctl, EVMCS_ENL_MSR_BITMAP);
	CHECK_EQ(s.vp_id, 7);
	CHECK_EQ(s.vm_id, 0x99);
	CHECK_EQ(s.assist_pa, 0x3000);
	evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, false, REV12);
	CHECK(s.msr_bitmap_same);
	e1.hv_clean_fields = EVMCS_CLEAN_ALL & ~EVMCS_CLEAN_MSR_BITMAP;
	evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, false, REV12);
	CHECK(!s.msr_bitmap_same);
	e1.hv_clean_fields = EVMCS_CLEAN_ALL;
	e1.hv_enlightenments_control = 0;
	evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, false, REV12);
	CHECK(!s.msr_bitmap_same); /* not enlightened: the bit means nothing */
	/* Group ENLIGHTENMENTSCONTROL clean: the ids stay as read. */
	e1.hv_vp_id = 8;
	evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, false, REV12);
	CHECK_EQ(s.vp_id, 7);
	e1.hv_clean_fields = EVMCS_CLEAN_ALL & ~EVMCS_CLEAN_ENLIGHTENMENTSCONTROL;
	evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, false, REV12);
	CHECK_EQ(s.vp_id, 8);
	CHECK_EQ(s.enl_ctl, 0);
}

TEST(evmcs_exit_only_when_active)
{
	static struct hv_enlightened_vmcs e1 __attribute__((aligned(4096)));
	struct evmcs_vp s;
	evmcs_release(&s);
	wide32 = false;
	missing_enc = 0xffffffffu;
	evmcs_map_init(&map, fake_field);
	memset(&e1, 0, sizeof(e1));
	e1.revision_id = EVMCS_VERSION;
	evmcs_enter(&s, &map, &v12, sizeof(v12), &e1, 0x10000, true, REV12);
	u32 reason = evmcs_nfields - 1 - (u32)(row_of(0x4402) - evmcs_fields);
	v12.slot[reason] = 10; /* CPUID */
	evmcs_exit(&s, &map, &v12);
	CHECK_EQ(e1.vm_exit_reason, 10);
	CHECK_EQ(e1.hv_clean_fields, EVMCS_CLEAN_ALL);
	evmcs_release(&s);
	v12.slot[reason] = 12; /* HLT */
	evmcs_exit(&s, &map, &v12);
	CHECK_EQ(e1.vm_exit_reason, 10);
}

/* ---- leaf 0x4000000A and 0x40000004 bit 14 (nested/nested.c) ------------ */

static int stub_nested_insn(struct vp *vp, struct hv_exit *e, enum hv_action *act,
			    struct nested_run *run)
{
	return 0;
}
static u32 stub_nested_features(void) { return 0; }

/* What the guest reads is exactly the backend's half (backend.nested_enl)
 * with nested=on, nothing with nested=off; the eVMCS is recommended (TLFS
 * 16.4.1) exactly when a version is offered. */
TEST(evmcs_leaf_and_recommendation)
{
	static struct partition part;
	static struct vp vps[1];
	static struct fake_be_state bes[1];
	static u8 mem[128 * 4096] __attribute__((aligned(4096)));
	struct pool pool;
	struct backend be = fake_backend;
	be.nested_insn = stub_nested_insn;
	be.nested_features = stub_nested_features;
	static const u32 enl[3] = { 0, BIT(17) | BIT(18) | BIT(19) | BIT(22), 0x0101 | BIT(18) };
	for (int nested = 0; nested < 2; nested++) {
		for (int k = 0; k < 3; k++) {
			fake_cpuid_reset();
			fake_smp_partition(&part, vps, bes, 1);
			be.nested_enl = enl[k];
			part.be = &be;
			part.nested = nested;
			pool_init(&pool, (u64)(uintptr_t)mem, sizeof(mem), 0);
			CHECK_EQ(registry_partition_init(&part, &pool), 0);
			u32 r[4] = { 0 };
			cpuid_adjust(&part, HV_CPUID_NESTED_OPTIMIZATIONS, 0, 0, r);
			CHECK_EQ(r[0], nested ? enl[k] : 0);
			u32 q[4] = { 0 };
			cpuid_adjust(&part, HV_CPUID_ENLIGHTENMENT_INFO, 0, 0, q);
			CHECK_EQ(!!(q[0] & HV_RECOMMEND_NESTED_EVMCS), nested && k == 2);
		}
	}
}

/* ---- against hv.efi's own vmcs12 (include/nested/vmcs12.h) ---------------- */

#include "vmcs12.h"

static bool real_v12(u32 enc, u16 *off, u8 *width)
{
	bool high;
	const struct vmcs12_field *f = vmcs12_lookup(enc, &high);
	if (!f || high)
		return false;
	*off = f->offset;
	*width = f->size;
	return true;
}

/* Every eVMCS field the vmcs12 lacks is one whose control is not offered
 * to L1 (virtual-APIC page: no TPR shadow; XSS and ENCLS exiting bitmaps:
 * no XSAVES or ENCLS exiting; BNDCFGS: no load/clear BNDCFGS), every
 * width agrees, and a load/store round trip through a real vmcs12 keeps
 * the values. */
TEST(evmcs_real_vmcs12)
{
	static struct evmcs_map m;
	static struct vmcs12 v;
	static struct hv_enlightened_vmcs e1 __attribute__((aligned(4096)));
	static struct hv_enlightened_vmcs e2 __attribute__((aligned(4096)));
	CHECK_EQ(evmcs_map_init(&m, real_v12), 0);
	for (u32 i = 0; i < evmcs_nfields; i++) {
		const struct evmcs_field *f = &evmcs_fields[i];
		if (!m.v12_width[i])
			CHECK(f->enc == 0x2012 || f->enc == 0x202c || f->enc == 0x202e || f->enc == 0x2812);
		else
			CHECK_EQ(m.v12_width[i], f->width);
	}
	CHECK_EQ(m.missing, 4);
	memset(&v, 0, sizeof(v));
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	fill(&e1, 0x100);
	evmcs_load(&m, &v, &e1, 0);
	/* By name through the struct: what VMREAD would give L1. */
	CHECK_EQ(v.guest_rip, e1.guest_rip);
	CHECK_EQ(v.guest_es_ar_bytes, e1.guest_es_ar_bytes);
	CHECK_EQ(v.host_rsp, e1.host_rsp);
	CHECK_EQ(v.ept_pointer, e1.ept_pointer);
	CHECK_EQ(v.virtual_processor_id, e1.virtual_processor_id);
	CHECK_EQ(v.cr3_target_count, e1.cr3_target_count);
	CHECK_EQ(v.vm_exit_reason, 0); /* read only: not loaded */
	v.vm_exit_reason = 48;
	v.exit_qualification = 0x181;
	v.guest_physical_address = 0x5000;
	evmcs_store(&m, &e2, &v);
	CHECK_EQ(e2.vm_exit_reason, 48);
	CHECK_EQ(e2.exit_qualification, 0x181);
	CHECK_EQ(e2.guest_physical_address, 0x5000);
	CHECK_EQ(e2.guest_rip, e1.guest_rip);
	CHECK_EQ(e2.guest_tr_base, e1.guest_tr_base);
	CHECK_EQ(e2.host_rip, 0); /* host state: L1's, not written */
	CHECK_EQ(e2.msr_bitmap, 0);
	CHECK(m.nout < m.nout_fields);
}

/* Random clean masks and contents against a field-by-field reference of
 * TLFS 16.5.2 (a field is read when its group is NONE, its bit is clear,
 * or, for "ALL", any bit is clear; read-only fields never), then the
 * write-back against its reference (exactly the OUT fields), through the
 * reversed-layout vmcs12 with 32-bit fields widened. */
TEST(evmcs_random_vs_reference)
{
	static struct fake12 ref, got;
	static struct hv_enlightened_vmcs e __attribute__((aligned(4096)));
	static struct hv_enlightened_vmcs e_ref __attribute__((aligned(4096)));
	u64 seed = 0x9e3779b97f4a7c15ull;
	wide32 = true;
	missing_enc = 0x2812;
	evmcs_map_init(&map, fake_field);
	for (int round = 0; round < 2000; round++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		u32 clean = (u32)seed & 0xffff;
		if ((seed >> 20) % 5 == 0)
			clean = 0xffff; /* all clean */
		u8 *eb = (u8 *)&e;
		for (u32 b = 0; b < sizeof(e); b++)
			eb[b] = (u8)((seed >> (b % 56)) + b * 31 + (u32)round);
		for (u32 s = 0; s < EVMCS_MAX_FIELDS; s++)
			ref.slot[s] = got.slot[s] = seed * (s + 1);
		evmcs_load(&map, &got, &e, clean);
		for (u32 i = 0; i < evmcs_nfields; i++) {
			const struct evmcs_field *f = &evmcs_fields[i];
			bool read = !(f->flags & EVMCS_F_RO) &&
				    (f->group == EVMCS_CLEAN_NONE ||
				     (f->group == EVMCS_CLEAN_ALL ? (clean & 0xffff) != 0xffff
								  : !(clean & f->group)));
			if (read && f->enc != 0x2812) {
				/* the vmcs12 keeps 16-bit fields in 2 bytes of the
				 * slot, 32-bit ones (wide32) in all 8 */
				u32 w = f->width == 4 ? 8 : f->width;
				u64 mask = w == 8 ? ~0ull : (1ull << (8 * w)) - 1;
				u64 *slot = &ref.slot[evmcs_nfields - 1 - i];
				*slot = (*slot & ~mask) | (ev_get(&e, f) & mask);
			}
		}
		CHECK(memcmp(&ref, &got, sizeof(ref)) == 0);
		/* the write-back */
		memcpy(&e_ref, &e, sizeof(e));
		for (u32 i = 0; i < evmcs_nfields; i++) {
			const struct evmcs_field *f = &evmcs_fields[i];
			if ((f->flags & EVMCS_F_OUT) && f->enc != 0x2812) {
				u64 v = got.slot[evmcs_nfields - 1 - i];
				memcpy((u8 *)&e_ref + f->off, &v, f->width);
			}
		}
		e_ref.hv_clean_fields |= EVMCS_CLEAN_ALL;
		evmcs_store(&map, &e, &got);
		CHECK(memcmp(&e_ref, &e, sizeof(e)) == 0);
		if (memcmp(&ref, &got, sizeof(ref)) || memcmp(&e_ref, &e, sizeof(e)))
			break;
	}
	wide32 = false;
	missing_enc = 0xffffffffu;
}
