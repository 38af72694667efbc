/* VFIO backends' pure parts: region capability chains (hostile ones too),
 * carving mmappable areas around the MSI-X pages, the memory slot
 * bookkeeping, and the sysfs checks of kernel VFIO on a fake /sys + /dev
 * tree (bound to vfio-pci or not, IOMMU group viable or not, cdev). */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "basalt/kvm_slots.h"
#include "basalt/vfio/kernel.h"
#include "basalt/vfio/region.h"
#include "basalt/vfio/sysfs.h"
#include "fixtures.h"

/* ---- region capability chains ---------------------------------------------- */

struct info_buf {
	struct vfio_region_info info;
	uint8_t caps[512];
};

static size_t sparse(struct info_buf *b, uint32_t at, uint32_t next, uint32_t nr,
		     const uint64_t (*areas)[2])
{
	struct vfio_region_info_cap_sparse_mmap sm = { .header = { 1, 1, next }, .nr_areas = nr };
	uint8_t *p = (uint8_t *)b + at;

	memcpy(p, &sm, sizeof(sm));
	for (uint32_t i = 0; areas && i < nr; i++) {
		struct vfio_region_sparse_mmap_area a = { areas[i][0], areas[i][1] };

		memcpy(p + sizeof(sm) + i * sizeof(a), &a, sizeof(a));
	}
	return at + sizeof(sm) + nr * sizeof(struct vfio_region_sparse_mmap_area);
}

static void info_init(struct info_buf *b, uint64_t size, uint32_t flags)
{
	memset(b, 0, sizeof(*b));
	b->info.argsz = sizeof(*b);
	b->info.size = size;
	b->info.offset = 0x40000000000ull;
	b->info.flags = flags;
}

#define RW (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)
#define MM (RW | VFIO_REGION_INFO_FLAG_MMAP)

START_TEST(region_parse)
{
	static const uint64_t areas[3][2] = {
		{ 0x1000, 0x1000 }, { 0x10000, 0x8000 }, { 0x20000, 0x1000 },  /* last: outside */
	};
	struct info_buf b;
	struct pt_region_info ri;
	size_t len;

	/* Mappable, no sparse capability: the whole region. */
	info_init(&b, 0x20000, MM);
	ck_assert_int_eq(vfio_region_parse((uint8_t *)&b, sizeof(b.info), &ri), 0);
	ck_assert_uint_eq(ri.nareas, 1);
	ck_assert_uint_eq(ri.area[0].size, 0x20000);
	ck_assert_uint_eq(ri.fd_offset, 0x40000000000ull);
	ck_assert(ri.readable && ri.writable);
	/* Sparse: areas inside the region kept, the one outside dropped. */
	info_init(&b, 0x20000, MM | VFIO_REGION_INFO_FLAG_CAPS);
	b.info.cap_offset = sizeof(b.info);
	len = sparse(&b, sizeof(b.info), 0, 3, areas);
	ck_assert_int_eq(vfio_region_parse((uint8_t *)&b, len, &ri), 0);
	ck_assert_uint_eq(ri.nareas, 2);
	ck_assert_uint_eq(ri.area[1].off, 0x10000);
	/* Not mappable: no areas whatever the capability says. */
	b.info.flags = RW | VFIO_REGION_INFO_FLAG_CAPS;
	ck_assert_int_eq(vfio_region_parse((uint8_t *)&b, len, &ri), 0);
	ck_assert_uint_eq(ri.nareas, 0);
	/* More areas claimed than bytes received. */
	info_init(&b, 0x20000, MM | VFIO_REGION_INFO_FLAG_CAPS);
	b.info.cap_offset = sizeof(b.info);
	len = sparse(&b, sizeof(b.info), 0, 2, areas);
	ck_assert_int_eq(vfio_region_parse((uint8_t *)&b, len - 1, &ri), -EINVAL);
	b.info.cap_offset = 0x1000;                       /* past the end */
	ck_assert_int_eq(vfio_region_parse((uint8_t *)&b, len, &ri), -EINVAL);
	b.info.cap_offset = 4;                            /* inside the info */
	ck_assert_int_eq(vfio_region_parse((uint8_t *)&b, len, &ri), -EINVAL);
	/* A chain that loops back on itself. */
	b.info.cap_offset = sizeof(b.info);
	len = sparse(&b, sizeof(b.info), sizeof(b.info), 1, areas);
	ck_assert_int_eq(vfio_region_parse((uint8_t *)&b, len, &ri), -EINVAL);
	/* An unknown capability is skipped; a sparse one after it counts. */
	{
		struct vfio_info_cap_header h = { 99, 1, sizeof(b.info) + 8 };

		memcpy(b.caps, &h, sizeof(h));
		len = sparse(&b, sizeof(b.info) + 8, 0, 1, areas);
		ck_assert_int_eq(vfio_region_parse((uint8_t *)&b, len, &ri), 0);
		ck_assert_uint_eq(ri.nareas, 1);
	}
	ck_assert_int_eq(vfio_region_parse((uint8_t *)&b, 8, &ri), -EINVAL);
}
END_TEST

/* ---- carving --------------------------------------------------------------------- */

START_TEST(carve)
{
	struct pt_area a[2] = { { 0, 0x4000 }, { 0x8000, 0x1000 } }, out[8];
	struct pt_area h[2] = { { 0x2000, 0x1000 }, { 0x3000, 0x1000 } };
	struct pt_area all = { 0, 0x10000 };
	unsigned n;

	n = pt_carve(a, 2, h, 2, out, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[0].off, 0);
	ck_assert_uint_eq(out[0].size, 0x2000);
	ck_assert_uint_eq(out[1].off, 0x8000);
	h[0] = (struct pt_area){ 0x1000, 0x1000 };
	n = pt_carve(a, 1, h, 2, out, 8);
	ck_assert_uint_eq(n, 2);                           /* 0-4K and 8K-12K */
	ck_assert_uint_eq(out[1].off, 0x2000);
	ck_assert_uint_eq(out[1].size, 0x1000);
	ck_assert_uint_eq(pt_carve(a, 1, &all, 1, out, 8), 0);
	ck_assert_uint_eq(pt_carve(a, 2, NULL, 0, out, 1), 1);   /* bounded by max */
}
END_TEST

/* ---- memory slots (bookkeeping, no KVM) ------------------------------------------ */

START_TEST(slots)
{
	struct kvm_slots s;
	struct bs_err e;
	static uint8_t mem[3 * 4096] __attribute__((aligned(4096)));
	int a, b;

	kvm_slots_init(&s, -1, 8, 10);
	ck_assert_int_eq(kvm_slot_map(&s, 0x1000, 0x1001, mem, &e), -EINVAL);
	ck_assert_int_eq(kvm_slot_map(&s, 0x1001, 0x1000, mem, &e), -EINVAL);
	ck_assert_int_eq(kvm_slot_map(&s, 0x1000, 0x1000, mem + 1, &e), -EINVAL);
	a = kvm_slot_map(&s, 0x100000, 0x1000, mem, &e);
	b = kvm_slot_map(&s, 0x200000, 0x2000, mem + 4096, &e);
	ck_assert_int_eq(a, 8);
	ck_assert_int_eq(b, 9);
	ck_assert_int_eq(kvm_slot_map(&s, 0x300000, 0x1000, mem, &e), -ENOSPC);
	ck_assert_str_eq(e.msg, "memory slot at 0x300000 (4 KiB): no free KVM memory slot");
	kvm_slot_unmap(&s, a);
	kvm_slot_unmap(&s, a);                             /* twice: harmless */
	kvm_slot_unmap(&s, 3);                             /* RAM's: ignored */
	ck_assert_uint_eq(kvm_slots_in_use(&s), 1);
	ck_assert_int_eq(kvm_slot_map(&s, 0x300000, 0x1000, mem, &e), 8);
}
END_TEST

/* ---- sysfs checks on a fake tree --------------------------------------------------- */

static char root[64];

static void mk(const char *fmt, const char *arg)
{
	char p[256], cmd[512];

	snprintf(p, sizeof(p), fmt, arg);
	ck_assert_int_lt(snprintf(cmd, sizeof(cmd), "mkdir -p %s%s", root, p), (int)sizeof(cmd));
	ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *path, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", root, path);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void ln(const char *target, const char *path)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s%s", root, path);
	unlink(p);
	ck_assert_int_eq(symlink(target, p), 0);
}

static void drop_tree(void)
{
	char cmd[128];

	if (!root[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd)) {
		/* nothing more to do */
	}
	root[0] = 0;
}

/* A function 0000:01:00.0 in IOMMU group 7 with a sibling 0000:01:00.1.
 * Removed at exit, also when a check fails. */
static void fake_tree(void)
{
	static const char *const fns[] = { "0000:01:00.0", "0000:01:00.1" };

	snprintf(root, sizeof(root), "/tmp/basalt-sysfs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	atexit(drop_tree);
	mk("/sys/kernel/iommu_groups/7/devices%s", "");
	mk("/dev/vfio%s", "");
	mk("/sys/bus/pci/drivers/vfio-pci%s", "");
	mk("/sys/bus/pci/drivers/snd_hda_intel%s", "");
	for (unsigned i = 0; i < 2; i++) {
		char p[128], t[128];

		mk("/sys/devices/pci0000:00/%s", fns[i]);
		snprintf(p, sizeof(p), "/sys/devices/pci0000:00/%s/vendor", fns[i]);
		put(p, "0x10de\n");
		snprintf(p, sizeof(p), "/sys/devices/pci0000:00/%s/class", fns[i]);
		put(p, "0x030200\n");
		snprintf(p, sizeof(p), "/sys/devices/pci0000:00/%s/iommu_group", fns[i]);
		ln("../../../kernel/iommu_groups/7", p);
		snprintf(p, sizeof(p), "/sys/devices/pci0000:00/%s/driver", fns[i]);
		ln("../../../bus/pci/drivers/vfio-pci", p);
		mk("/sys/bus/pci/devices%s", "");
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s", fns[i]);
		snprintf(t, sizeof(t), "../../../devices/pci0000:00/%s", fns[i]);
		ln(t, p);
		snprintf(p, sizeof(p), "/sys/kernel/iommu_groups/7/devices/%s", fns[i]);
		snprintf(t, sizeof(t), "../../../../devices/pci0000:00/%s", fns[i]);
		ln(t, p);
	}
	put("/dev/vfio/7", "");
	put("/dev/vfio/vfio", "");
}

#define DEV "/sys/bus/pci/devices/0000:01:00.0"

START_TEST(sysfs_checks)
{
	struct vfio_sysfs_info si;
	struct bs_err e;
	void *b;

	fake_tree();
	ck_assert_int_eq(vfio_sysfs_check(root, DEV, "devices[0]", &si, &e), 0);
	ck_assert_str_eq(si.bdf, "0000:01:00.0");
	ck_assert_int_eq(si.group, 7);
	ck_assert_str_eq(si.group_dev, "/dev/vfio/7");
	ck_assert_str_eq(si.cdev, "");
	ck_assert_int_eq(vfio_sysfs_check(root, "0000:01:00.0", "devices[0]", &si, &e), 0);
	/* No such function. */
	ck_assert_int_eq(vfio_sysfs_check(root, "/sys/bus/pci/devices/0000:02:00.0",
					  "devices[0]", &si, &e), -ENOENT);
	ck_assert_str_eq(e.msg, "devices[0]: no PCI device at '/sys/bus/pci/devices/0000:02:00.0' "
			 "(lspci -D lists the addresses)");
	/* The sibling bound to an audio driver: the group is not viable. */
	ln("../../../bus/pci/drivers/snd_hda_intel", "/sys/devices/pci0000:00/0000:01:00.1/driver");
	ck_assert_int_eq(vfio_sysfs_check(root, DEV, "devices[0]", &si, &e), -EBUSY);
	ck_assert_str_eq(e.msg, "devices[0]: IOMMU group 7 is not viable: 0000:01:00.1 in it is "
			 "bound to 'snd_hda_intel' (bind every device of the group to "
			 "vfio-pci, or unbind it)");
	/* ...unless it is a bridge. */
	put("/sys/devices/pci0000:00/0000:01:00.1/class", "0x060400\n");
	ck_assert_int_eq(vfio_sysfs_check(root, DEV, "devices[0]", &si, &e), 0);
	/* The function itself on another driver, or none. */
	ln("../../../bus/pci/drivers/snd_hda_intel", "/sys/devices/pci0000:00/0000:01:00.0/driver");
	ck_assert_int_eq(vfio_sysfs_check(root, DEV, "devices[0]", &si, &e), -EBUSY);
	ck_assert_ptr_nonnull(strstr(e.msg, "devices[0]: 0000:01:00.0 is bound to 'snd_hda_intel', "
				     "not vfio-pci"));
	ck_assert_int_eq(unlink(strcat(strcpy((char[PATH_MAX]){ 0 }, root),
				       "/sys/devices/pci0000:00/0000:01:00.0/driver")), 0);
	ck_assert_int_eq(vfio_sysfs_check(root, DEV, "devices[0]", &si, &e), -EBUSY);
	ck_assert_ptr_nonnull(strstr(e.msg, "is bound to no driver"));
	ln("../../../bus/pci/drivers/vfio-pci", "/sys/devices/pci0000:00/0000:01:00.0/driver");
	/* No group node (vfio-pci module not loaded). */
	ck_assert_int_eq(unlink(strcat(strcpy((char[PATH_MAX]){ 0 }, root), "/dev/vfio/7")), 0);
	ck_assert_int_eq(vfio_sysfs_check(root, DEV, "devices[0]", &si, &e), -ENOENT);
	ck_assert_str_eq(e.msg, "devices[0]: /dev/vfio/7 does not exist (is the vfio-pci module "
			 "loaded?)");
	/* iommufd cdev, when the kernel offers it. */
	mk("/sys/devices/pci0000:00/0000:01:00.0/vfio-dev/vfio3%s", "");
	mk("/dev/vfio/devices%s", "");
	put("/dev/vfio/devices/vfio3", "");
	put("/dev/iommu", "");
	ck_assert_int_eq(vfio_sysfs_check(root, DEV, "devices[0]", &si, &e), 0);
	ck_assert_str_eq(si.cdev, "/dev/vfio/devices/vfio3");
	/* No IOMMU group at all. */
	ck_assert_int_eq(unlink(strcat(strcpy((char[PATH_MAX]){ 0 }, root),
				       "/sys/devices/pci0000:00/0000:01:00.0/iommu_group")), 0);
	ck_assert_int_eq(vfio_sysfs_check(root, DEV, "devices[0]", &si, &e), -ENODEV);
	ck_assert_ptr_nonnull(strstr(e.msg, "has no IOMMU group"));
	/* Opening for real fails cleanly where the nodes are plain files. */
	ln("../../../kernel/iommu_groups/7", "/sys/devices/pci0000:00/0000:01:00.0/iommu_group");
	ck_assert_int_lt(vfio_kernel_open(&b, root, DEV, "vfio0", &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "vfio0: VFIO_DEVICE_BIND_IOMMUFD: "));
	drop_tree();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vfio");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, region_parse);
	tcase_add_test(tc, carve);
	tcase_add_test(tc, slots);
	tcase_add_test(tc, sysfs_checks);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
