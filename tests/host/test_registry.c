/* test_registry.c - module hooks (hv/registry.c, include/hv/module.h): a
 * module registered here, in the host test binary only, the way synic/,
 * vsm/ and nested/ will register theirs. */
#include "htest.h"
#include "fakes.h"

static int entry_runs, dump_runs;
static struct vp *entry_vp;

static void reg_test_entry(struct vp *vp)
{
	entry_runs++;
	entry_vp = vp;
}

static void reg_test_dump(const struct vp *vp) { dump_runs++; }

HV_MODULE(registry_test, .on_entry = reg_test_entry, .on_dump = reg_test_dump);

/* A before-entry hook runs only when its module asked, once per request,
 * and the request is consumed; the core's pending test sees it. */
TEST(registry_entry_work_on_request)
{
	static struct partition part;
	static struct vp vp;
	static struct fake_be_state bes;
	CHECK_EQ(partition_init(&part, &fake_backend, 36, 0x200000, 0x100000), 0);
	fake_vp_init(&vp, &part, &bes);
	partition_add_vp(&part, &vp);
	entry_runs = 0;
	CHECK(!vp_entry_pending(&vp));
	registry_entry_work(&vp); /* nothing asked: nothing runs */
	CHECK_EQ(entry_runs, 0);
	registry_request_entry(&vp, &hv_module_registry_test);
	registry_request_entry(&vp, &hv_module_registry_test); /* one bit: runs once */
	CHECK(vp_entry_pending(&vp));
	registry_entry_work(&vp);
	CHECK_EQ(entry_runs, 1);
	CHECK(entry_vp == &vp);
	CHECK(!vp_entry_pending(&vp));
	registry_entry_work(&vp);
	CHECK_EQ(entry_runs, 1);
	/* The dump hook joins the counters dump. */
	dump_runs = 0;
	fake_serial_reset();
	vp_dump_counters(&vp);
	CHECK_EQ(dump_runs, 1);
}
