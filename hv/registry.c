/*
 * registry.c - the modules' hooks (HV_MODULE rows, include/hv/module.h),
 * collected from their linker section and called in link order. The hot
 * paths stay cheap: the CPUID hooks are gathered into a short array at
 * start, and a before-entry hook runs only when its module asked for it
 * (a bit per module in vp->entry_work, which the core tests together with
 * the VP's mailbox before each entry).
 */
#include "module.h"
#include "log.h"
#include "vp.h"

extern const struct hv_module __start_hv_modules[], __stop_hv_modules[];

#define REGISTRY_MAX_MODULES 64 /* one bit each in vp->entry_work */

static const struct hv_module *cpuid_hooks[REGISTRY_MAX_MODULES];
u32 registry_cpuid_hooks; /* how many: tested inline on the CPUID path */
u32 registry_cpuid_leaves;

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

#define for_each_module(m) for (const struct hv_module *m = __start_hv_modules; m < __stop_hv_modules; m++)

int registry_init(void)
{
	if (__stop_hv_modules - __start_hv_modules > REGISTRY_MAX_MODULES) {
		LOGE("registry: %ld modules, at most %d", (long)(__stop_hv_modules - __start_hv_modules),
		     REGISTRY_MAX_MODULES);
		return -1;
	}
	registry_cpuid_hooks = 0;
	registry_cpuid_leaves = 0;
	for_each_module(m) {
		if (!m->name) {
			LOGE("registry: a module row without a name");
			return -1;
		}
		for_each_module(o)
			if (o < m && streq(o->name, m->name)) {
				LOGE("registry: module %s registered twice", m->name);
				return -1;
			}
		if (m->on_cpuid) {
			cpuid_hooks[registry_cpuid_hooks++] = m;
			registry_cpuid_leaves |= m->cpuid_leaves ? m->cpuid_leaves : ~0u;
		}
	}
	return 0;
}

int registry_partition_init(struct partition *p, struct pool *pool)
{
	for_each_module(m)
		if (m->on_partition && m->on_partition(p, pool)) {
			LOGE("registry: module %s: partition set-up failed", m->name);
			return -1;
		}
	return 0;
}

int registry_vp_init(struct vp *vp, struct pool *pool)
{
	for_each_module(m)
		if (m->on_vp && m->on_vp(vp, pool)) {
			LOGE("registry: module %s: set-up of VP %u failed", m->name, vp->index);
			return -1;
		}
	return 0;
}

int registry_vp_ready(struct vp *vp)
{
	for_each_module(m)
		if (m->on_vp_ready && m->on_vp_ready(vp)) {
			LOGE("registry: module %s: VP %u not ready", m->name, vp->index);
			return -1;
		}
	return 0;
}

void registry_cpuid(const struct partition *p, u32 leaf, u32 r[4])
{
	u32 n = leaf - 0x40000000u;
	for (u32 i = 0; i < registry_cpuid_hooks; i++) {
		u32 want = cpuid_hooks[i]->cpuid_leaves;
		if (!want || (n < 32 && ((want >> n) & 1)))
			cpuid_hooks[i]->on_cpuid(p, leaf, r);
	}
}

void registry_dump(const struct vp *vp)
{
	for_each_module(m)
		if (m->on_dump)
			m->on_dump(vp);
}

void registry_request_entry(struct vp *vp, const struct hv_module *mod)
{
	__atomic_or_fetch(&vp->entry_work, BIT(mod - __start_hv_modules), __ATOMIC_SEQ_CST);
}

void registry_entry_work(struct vp *vp)
{
	u64 w = __atomic_exchange_n(&vp->entry_work, 0, __ATOMIC_SEQ_CST);
	for (u32 i = 0; w; i++, w >>= 1)
		if ((w & 1) && __start_hv_modules[i].on_entry)
			__start_hv_modules[i].on_entry(vp);
}
