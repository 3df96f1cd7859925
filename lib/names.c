// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Vendor, device and class names from pci.ids through libpci.
 *
 * libpci's error hook must not return (it is declared noreturn and its default
 * calls exit()); it fires on a malformed pci.ids. The hook below jumps back to
 * the lookup that was running, which then falls back to numbers: the process
 * lives on and the caller still gets a device.
 */
#include <pci/pci.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static jmp_buf *pci_escape;
static char pci_errbuf[256];

static void __attribute__((noreturn)) pci_error_hook(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(pci_errbuf, sizeof(pci_errbuf), msg, ap);
	va_end(ap);
	if (pci_escape)
		longjmp(*pci_escape, 1);
	/* unreachable in practice: every libpci call below runs under setjmp */
	abort();
}

static void pci_quiet_hook(char *msg, ...)
{
	(void)msg;
}

static struct pci_access *names_access(struct vfc_ctx *ctx)
{
	struct pci_access *a;
	vfc_path_t p;

	if (ctx->pacc || ctx->pacc_failed)
		return ctx->pacc;
	a = pci_alloc();
	if (!a) {
		ctx->pacc_failed = true;
		return NULL;
	}
	a->error = pci_error_hook;
	a->warning = pci_quiet_hook;
	a->debug = pci_quiet_hook;
	if (!vfc_is_live(ctx)) {
		/* keep every libpci read inside the sysroot */
		if (vfc_path_root(ctx, p, "/sys/bus/pci") == 0)
			pci_set_param(a, "sysfs.path", p);
		/* Debian's, Fedora's and upstream's places, in that order */
		static const char *const ids[] = { "/usr/share/misc/pci.ids",
			"/usr/share/hwdata/pci.ids", "/usr/share/pci.ids" };

		size_t i = 0;

		while (i + 1 < ARRAY_SIZE(ids) &&
		       (vfc_path_root(ctx, p, ids[i]) || access(p, R_OK) < 0))
			i++;
		/* none there: still name one inside the sysroot, never the host's */
		if (vfc_path_root(ctx, p, ids[i]) == 0)
			pci_set_name_list_path(a, strdup(p), 1);
	}
	ctx->pacc = a;
	return a;
}

void vfc_names_free(struct vfc_ctx *ctx)
{
	if (ctx->pacc)
		pci_cleanup(ctx->pacc);
	ctx->pacc = NULL;
}

void vfc_names_lookup(struct vfc_ctx *ctx, struct vfc_device *d)
{
	struct pci_access *a = names_access(ctx);
	int flags = PCI_LOOKUP_NO_NUMBERS;
	jmp_buf env;
	char *v = NULL, *dv = NULL, *c = NULL;

	/*
	 * The host's udev hwdb knows nothing of a sysroot; and without a hwdb.bin
	 * libpci leaks a udev handle on every failed lookup, for no names.
	 */
	if (!vfc_is_live(ctx) || (access("/etc/udev/hwdb.bin", F_OK) &&
				  access("/usr/lib/udev/hwdb.bin", F_OK) &&
				  access("/lib/udev/hwdb.bin", F_OK)))
		flags |= PCI_LOOKUP_NO_HWDB;
	if (a && !ctx->pacc_failed) {
		pci_escape = &env;
		if (setjmp(env) == 0) {
			v = pci_lookup_name(a, d->vendor_name, sizeof(d->vendor_name),
					    flags | PCI_LOOKUP_VENDOR, d->vendor);
			dv = pci_lookup_name(a, d->device_name, sizeof(d->device_name),
					     flags | PCI_LOOKUP_DEVICE, d->vendor,
					     d->device);
			c = pci_lookup_name(a, d->class_name, sizeof(d->class_name),
					    flags | PCI_LOOKUP_CLASS, d->class >> 8);
		} else {
			char *msg = pci_errbuf;
			const char *root = vfc_sysroot(ctx);
			size_t n = strlen(root);

			/* libpci names the file with the sysroot and ends with "\n" */
			if (!vfc_is_live(ctx) && (msg = strstr(pci_errbuf, root)))
				memmove(msg, msg + n, strlen(msg + n) + 1);
			pci_errbuf[strcspn(pci_errbuf, "\n")] = '\0';
			vfc_log(ctx, LOG_WARNING, "pci.ids unusable, showing numbers: %s",
				pci_errbuf);
			ctx->pacc_failed = true;
			v = dv = c = NULL;
		}
		pci_escape = NULL;
	}
	if (!v)
		snprintf(d->vendor_name, sizeof(d->vendor_name), "%04x", d->vendor);
	if (!dv)
		snprintf(d->device_name, sizeof(d->device_name), "%04x", d->device);
	if (!c)
		snprintf(d->class_name, sizeof(d->class_name), "%04x", d->class >> 8);
}
