// SPDX-License-Identifier: LGPL-2.1-or-later
/* Is each VFIO module there, loaded or built in? Asked of libkmod and sysfs. */
#include <errno.h>
#include <libkmod.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "internal.h"

static const char *const mod_names[VFC_MOD_COUNT] = {
	[VFC_MOD_VFIO] = "vfio",
	[VFC_MOD_VFIO_IOMMU_TYPE1] = "vfio_iommu_type1",
	[VFC_MOD_VFIO_PCI] = "vfio_pci",
	[VFC_MOD_IOMMUFD] = "iommufd",
};

static void kmod_log_sink(void *data, int priority, const char *file, int line,
			  const char *fn, const char *format, va_list args)
{
	struct vfc_ctx *ctx = data;
	char msg[256];

	(void)file;
	(void)line;
	(void)fn;
	vsnprintf(msg, sizeof(msg), format, args);
	msg[strcspn(msg, "\n")] = '\0';
	/* libkmod's errors (a broken config, say) are worth a warning; the rest is debug */
	vfc_log(ctx, priority <= LOG_ERR ? LOG_WARNING : LOG_DEBUG, "libkmod: %s", msg);
}

static struct kmod_ctx *kmod_for(struct vfc_ctx *ctx, const char *release)
{
	static const char *const conf[] = { "/etc/modprobe.d", "/run/modprobe.d",
		"/usr/local/lib/modprobe.d", "/usr/lib/modprobe.d", "/lib/modprobe.d" };
	vfc_path_t dir, confp[ARRAY_SIZE(conf)];
	const char *confv[ARRAY_SIZE(conf) + 1];
	char rel[80];

	if (ctx->kmod || ctx->kmod_failed)
		return ctx->kmod;
	snprintf(rel, sizeof(rel), "/lib/modules/%s", release);
	if (!*release || strchr(release, '/') || vfc_path_root(ctx, dir, rel)) {
		ctx->kmod_failed = true;
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(conf); i++) {
		if (vfc_path_root(ctx, confp[i], conf[i])) {
			ctx->kmod_failed = true;
			return NULL;
		}
		confv[i] = confp[i];
	}
	confv[ARRAY_SIZE(conf)] = NULL;
	/* NULL config paths mean libkmod's own defaults, right for the live system */
	ctx->kmod = kmod_new(dir, vfc_is_live(ctx) ? NULL : confv);
	if (!ctx->kmod) {
		ctx->kmod_failed = true;
		return NULL;
	}
	kmod_set_log_fn(ctx->kmod, kmod_log_sink, ctx);
	return ctx->kmod;
}

void vfc_modules_free(struct vfc_ctx *ctx)
{
	if (ctx->kmod)
		kmod_unref(ctx->kmod);
	ctx->kmod = NULL;
}

/* The lookup result, filtered as modprobe filters aliases: empty means blacklisted. */
static bool blacklisted(struct kmod_ctx *k, const struct kmod_list *list)
{
	struct kmod_list *out = NULL;

	if (kmod_module_apply_filter(k, KMOD_FILTER_BLACKLIST, list, &out) < 0)
		return false;
	if (!out)
		return true;
	kmod_module_unref_list(out);
	return false;
}

/*
 * Loaded state comes from <sysroot>/sys/module, not from libkmod's
 * kmod_module_get_initstate(), which always reads the live /sys.
 */
static enum vfc_mod_state sysfs_state(struct vfc_ctx *ctx, const char *name)
{
	vfc_path_t p;
	char rel[96];

	snprintf(rel, sizeof(rel), "/sys/module/%s/initstate", name);
	if (vfc_path_root(ctx, p, rel) == 0 && access(p, F_OK) == 0)
		return VFC_MOD_LOADED;
	snprintf(rel, sizeof(rel), "/sys/module/%s", name);
	if (vfc_path_root(ctx, p, rel) == 0 && access(p, F_OK) == 0)
		return VFC_MOD_BUILTIN; /* a module dir without initstate is built in */
	return VFC_MOD_MISSING;
}

static void lookup_one(struct vfc_ctx *ctx, struct kmod_ctx *k,
		       struct vfc_module *m)
{
	struct kmod_module *mod = NULL;
	struct kmod_list *list = NULL;
	enum vfc_mod_state s = sysfs_state(ctx, m->name);

	m->state = s;
	m->blacklisted = false;
	if (!k) {
		if (s == VFC_MOD_MISSING)
			m->state = VFC_MOD_UNKNOWN;
		return;
	}
	if (kmod_module_new_from_lookup(k, m->name, &list) < 0 || !list) {
		return; /* not in modules.dep/alias/builtin: keep what sysfs said */
	}
	m->blacklisted = blacklisted(k, list);
	mod = kmod_module_get_module(list);
	kmod_module_unref_list(list);
	if (!mod)
		return;
	if (s == VFC_MOD_MISSING)
		m->state = kmod_module_get_path(mod) ? VFC_MOD_AVAILABLE : VFC_MOD_BUILTIN;
	kmod_module_unref(mod);
}

void vfc_modules_read(struct vfc_ctx *ctx, const char *release,
		      struct vfc_module mods[VFC_MOD_COUNT])
{
	struct kmod_ctx *k = kmod_for(ctx, release);
	vfc_path_t dir;
	char rel[80];

	/* a missing module directory would make every module look "missing" */
	snprintf(rel, sizeof(rel), "/lib/modules/%s", release);
	if (k && (vfc_path_root(ctx, dir, rel) || access(dir, F_OK) < 0))
		k = NULL;
	for (int i = 0; i < VFC_MOD_COUNT; i++) {
		mods[i].name = mod_names[i];
		lookup_one(ctx, k, &mods[i]);
	}
}

VFC_EXPORT const char *vfc_mod_state_str(enum vfc_mod_state s)
{
	switch (s) {
	case VFC_MOD_MISSING: return "missing";
	case VFC_MOD_AVAILABLE: return "available";
	case VFC_MOD_LOADED: return "loaded";
	case VFC_MOD_BUILTIN: return "builtin";
	case VFC_MOD_UNKNOWN: break;
	}
	return "unknown";
}

/* ---- loading vfio-pci ------------------------------------------------------ */

static int vfio_pci_module(struct vfc_ctx *ctx, struct kmod_ctx **k,
			   struct kmod_module **mod)
{
	struct kmod_list *list = NULL;
	struct utsname u;

	*mod = NULL;
	if (uname(&u) < 0 || !(*k = kmod_for(ctx, u.release)))
		return vfc_fail(ctx, EIO, NULL, "cannot read the module index of this kernel");
	if (kmod_module_new_from_lookup(*k, "vfio-pci", &list) < 0 || !list)
		return vfc_fail(ctx, ENOENT,
				"install the kernel's modules package, or build it with CONFIG_VFIO_PCI",
				"module vfio-pci not found for kernel %s", u.release);
	*mod = kmod_module_get_module(list);
	kmod_module_unref_list(list);
	return *mod ? 0 : vfc_fail(ctx, ENOENT, NULL, "module vfio-pci not found");
}

/*
 * libkmod would hand an "install" command of modprobe.d to system(3); vfioctl
 * runs no shell, and skipping the command would defeat what the admin wrote.
 * A blacklisted module (or dependency) is an admin's "not this one".
 */
static int check_module(struct vfc_ctx *ctx, struct kmod_ctx *k, struct kmod_module *m)
{
	struct kmod_list *one = NULL;
	const char *name = kmod_module_get_name(m);
	bool black = false;

	if (kmod_module_get_install_commands(m))
		return vfc_fail(ctx, EOPNOTSUPP,
				"load it by hand with 'modprobe vfio-pci', then bind again",
				"modprobe.d has an install command for %s, and vfioctl runs no commands",
				name);
	/* the filter takes a list; a lookup by the module's own name makes one */
	if (kmod_module_new_from_lookup(k, name, &one) == 0 && one) {
		black = blacklisted(k, one);
		kmod_module_unref_list(one);
	}
	if (black)
		return vfc_fail(ctx, EOPNOTSUPP,
				"remove the 'blacklist' line from modprobe.d, or load it by hand with 'modprobe vfio-pci'",
				"module %s is blacklisted", name);
	return 0;
}

/* Every module vfio-pci needs that is not in the kernel yet, checked. */
static int plan_modules(struct vfc_ctx *ctx, struct kmod_ctx *k, struct kmod_module *mod,
			char *names, size_t len)
{
	struct kmod_list *deps = kmod_module_get_dependencies(mod), *l;
	size_t used = 0;
	int r = 0;

	names[0] = '\0';
	kmod_list_foreach(l, deps) {
		struct kmod_module *m = kmod_module_get_module(l);

		if (kmod_module_get_initstate(m) != KMOD_MODULE_LIVE &&
		    kmod_module_get_initstate(m) != KMOD_MODULE_BUILTIN) {
			r = check_module(ctx, k, m);
			if (!r && used < len)
				used += (size_t)snprintf(names + used, len - used, "%s ",
							 kmod_module_get_name(m));
		}
		kmod_module_unref(m);
		if (r)
			break;
	}
	kmod_module_unref_list(deps);
	if (!r)
		r = check_module(ctx, k, mod);
	if (!r && used < len)
		snprintf(names + used, len - used, "%s", kmod_module_get_name(mod));
	return r;
}

int vfc_vfio_pci_plan(struct vfc_ctx *ctx, char *names, size_t len)
{
	struct kmod_ctx *k;
	struct kmod_module *mod;
	int r = vfio_pci_module(ctx, &k, &mod);

	if (r)
		return r;
	r = plan_modules(ctx, k, mod, names, len);
	kmod_module_unref(mod);
	return r;
}

int vfc_vfio_pci_load(struct vfc_ctx *ctx)
{
	struct kmod_ctx *k;
	struct kmod_module *mod;
	char names[256];
	int r = vfio_pci_module(ctx, &k, &mod);

	if (r)
		return r;
	r = plan_modules(ctx, k, mod, names, sizeof(names));
	if (!r) {
		/* IGNORE_COMMAND: checked above that there is none, and never system(3) */
		r = kmod_module_probe_insert_module(mod, KMOD_PROBE_APPLY_BLACKLIST_ALL |
						    KMOD_PROBE_IGNORE_COMMAND,
						    NULL, NULL, NULL, NULL);
		if (r > 0)
			r = vfc_fail(ctx, EOPNOTSUPP, "remove the 'blacklist' line from modprobe.d",
				     "a module vfio-pci needs is blacklisted");
		else if (r < 0)
			r = vfc_fail(ctx, r, "see the kernel log (dmesg)", "loading %s", names);
	}
	kmod_module_unref(mod);
	return r;
}
