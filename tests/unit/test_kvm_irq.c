/* GSI router and MSI-X irqfds against the real /dev/kvm (exit 77 = skip
 * where there is none). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "basalt/kvm_irq.h"
#include "fixtures.h"

static int kvm_fd = -1, vm_fd = -1;

static void vm_setup(void)
{
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	ck_assert_int_ge(vm_fd, 0);
	ck_assert_int_eq(ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0), 0);
}

static void vm_teardown(void)
{
	close(vm_fd);
}

START_TEST(router)
{
	struct kvm_irq_router r;
	struct bs_err e;
	int gsi;

	ck_assert_int_eq(kvm_irq_router_init(&r, vm_fd, &e), 0);
	gsi = kvm_irq_msi_alloc(&r, &e);
	ck_assert_int_eq(gsi, KVM_IRQ_FIRST_MSI_GSI);
	ck_assert_int_eq(kvm_irq_msi_set(&r, (unsigned)gsi, 0xfee00000, 0x4041, true, &e), 0);
	ck_assert_int_eq(kvm_irq_msi_set(&r, (unsigned)gsi, 0, 0, false, &e), 0);
	ck_assert_int_eq(kvm_irq_msi_set(&r, 23, 0xfee00000, 0x41, true, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "GSI 23 is not an MSI GSI");
	/* the legacy GSIs still reach the irqchip after our table replaced
	 * KVM's defaults */
	{
		struct kvm_irq_level l = { .irq = 4, .level = 1 };

		ck_assert_int_eq(ioctl(vm_fd, KVM_IRQ_LINE, &l), 0);
		l.irq = 20;
		ck_assert_int_eq(ioctl(vm_fd, KVM_IRQ_LINE, &l), 0);
	}
	/* running out of GSIs is an error, not a crash */
	while ((gsi = kvm_irq_msi_alloc(&r, &e)) >= 0)
		ck_assert_int_lt(gsi, KVM_IRQ_MAX_GSI);
	ck_assert_int_eq(gsi, -ENOSPC);
	kvm_irq_router_destroy(&r);
}
END_TEST

START_TEST(msix_irqfd)
{
	struct kvm_irq_router r;
	struct msix_kvm k;
	struct msix_sink sink;
	struct bs_err e;
	struct kvm_irqfd again = { 0 };
	uint64_t cnt = 0;

	ck_assert_int_eq(kvm_irq_router_init(&r, vm_fd, &e), 0);
	ck_assert_int_eq(msix_kvm_init(&k, &r, 3, &sink, &e), 0);
	ck_assert_int_eq(k.gsi[0], KVM_IRQ_FIRST_MSI_GSI);
	ck_assert_int_eq(k.gsi[2], KVM_IRQ_FIRST_MSI_GSI + 2);
	/* each eventfd is bound: binding it again is refused */
	again.fd = (uint32_t)k.efd[1];
	again.gsi = (uint32_t)k.gsi[1];
	ck_assert_int_eq(ioctl(vm_fd, KVM_IRQFD, &again), -1);
	ck_assert_int_eq(errno, EBUSY);
	/* route, fire (KVM consumes the eventfd count), unroute */
	sink.route(sink.ctx, 1, 0xfee00000, 0x4041, true);
	ck_assert(r.msi[k.gsi[1] - KVM_IRQ_FIRST_MSI_GSI].valid);
	sink.fire(sink.ctx, 1);
	ck_assert_int_eq(read(k.efd[1], &cnt, sizeof(cnt)), -1);	/* consumed */
	ck_assert_int_eq(errno, EAGAIN);
	sink.route(sink.ctx, 1, 0, 0, false);
	ck_assert(!r.msi[k.gsi[1] - KVM_IRQ_FIRST_MSI_GSI].valid);
	msix_kvm_destroy(&k);
	kvm_irq_router_destroy(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kvm_irq");
	TCase *tc = tcase_create("kvm");

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		return 77;	/* meson: skipped */
	tcase_add_checked_fixture(tc, vm_setup, vm_teardown);
	tcase_add_test(tc, router);
	tcase_add_test(tc, msix_irqfd);
	suite_add_tcase(s, tc);
	return fixture_run_suite(s);
}
