// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

VFC_EXPORT int vfc_new(const char *sysroot, struct vfc_ctx **out)
{
	struct vfc_ctx *ctx;
	struct stat st;
	size_t len;

	*out = NULL;
	if (!sysroot)
		sysroot = "/";
	if (sysroot[0] == '\0')
		return -EINVAL;
	len = strlen(sysroot);
	while (len > 1 && sysroot[len - 1] == '/')
		len--;
	if (len >= PATH_MAX - 256)
		return -ENAMETOOLONG;
	if (stat(sysroot, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->refcount = 1;
	if (!(len == 1 && sysroot[0] == '/'))
		memcpy(ctx->sysroot, sysroot, len);
	*out = ctx;
	return 0;
}

VFC_EXPORT struct vfc_ctx *vfc_ref(struct vfc_ctx *ctx)
{
	if (ctx)
		ctx->refcount++;
	return ctx;
}

VFC_EXPORT struct vfc_ctx *vfc_unref(struct vfc_ctx *ctx)
{
	if (!ctx || --ctx->refcount > 0)
		return NULL;
	vfc_names_free(ctx);
	vfc_modules_free(ctx);
	free(ctx);
	return NULL;
}

VFC_EXPORT const char *vfc_sysroot(const struct vfc_ctx *ctx)
{
	return ctx->sysroot[0] ? ctx->sysroot : "/";
}

VFC_EXPORT bool vfc_is_live(const struct vfc_ctx *ctx)
{
	return ctx->sysroot[0] == '\0';
}

VFC_EXPORT const char *vfc_errmsg(const struct vfc_ctx *ctx)
{
	return ctx->errmsg;
}

VFC_EXPORT const char *vfc_errhint(const struct vfc_ctx *ctx)
{
	return ctx->errhint;
}

VFC_EXPORT void vfc_set_log_fn(struct vfc_ctx *ctx, vfc_log_fn fn, void *data)
{
	ctx->log_fn = fn;
	ctx->log_data = data;
}

int vfc_fail(struct vfc_ctx *ctx, int err, const char *hint, const char *fmt,
	     ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->errmsg, sizeof(ctx->errmsg), fmt, ap);
	va_end(ap);
	snprintf(ctx->errhint, sizeof(ctx->errhint), "%s", hint ? hint : "");
	ctx->errflags = 0;
	return err > 0 ? -err : err;
}

void vfc_err_save(const struct vfc_ctx *ctx, struct vfc_saved_err *s)
{
	memcpy(s->msg, ctx->errmsg, sizeof(s->msg));
	memcpy(s->hint, ctx->errhint, sizeof(s->hint));
	s->flags = ctx->errflags;
}

void vfc_err_restore(struct vfc_ctx *ctx, const struct vfc_saved_err *s)
{
	memcpy(ctx->errmsg, s->msg, sizeof(s->msg));
	memcpy(ctx->errhint, s->hint, sizeof(s->hint));
	ctx->errflags = s->flags;
}

VFC_EXPORT unsigned int vfc_errflags(const struct vfc_ctx *ctx)
{
	return ctx->errflags;
}

void vfc_log(struct vfc_ctx *ctx, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!ctx->log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->log_fn(ctx->log_data, prio, msg);
}

int vfc_array_push(void **arr, size_t *n, size_t elem, const void *item)
{
	char *p;

	/* capacity is 4, then doubles: grow when n reaches 0, 4, 8, 16... */
	if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
		size_t cap = *n ? *n * 2 : 4;

		p = realloc(*arr, cap * elem);
		if (!p)
			return -ENOMEM;
		*arr = p;
	}
	memcpy((char *)*arr + *n * elem, item, elem);
	(*n)++;
	return 0;
}
