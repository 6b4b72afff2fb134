/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * dns.bpf.h: egress by DNS name, as the connect and UDP send hooks see it (net.bpf.c). The
 * DNS answers a function receives bind their addresses to the names asked for (dns.bpf.c,
 * before the application can read the answer); a connect to such an address is a named item.
 */
#pragma once

#include "policy.bpf.h"

/*
 * The destination of a connect / UDP send against the DNS bindings of its function (global:
 * verified once; defined in dns.bpf.c). cfg_word: mode | gen << 8 | flags << 16. Learn mode:
 * returns 1 when the address is bound to a name, which is learned as a named item (the caller
 * learns no address item). Monitor / enforce: returns 1 when a name bound to the address allows
 * the destination; otherwise a bound name, if any, becomes the item of the report `r`.
 */
int fg_dns_egress_g(struct fg_net_key *k, __u32 cfg_word, __u64 cgid, struct fg_viol_req *r);

/* For fg_net_decide: connects and UDP sends only. */
static __always_inline int fg_dns_egress(const struct fg_fn_cfg *cfg, __u64 cgid,
					 struct fg_net_key *k, struct fg_viol_req *r)
{
	if (k->kind != FG_NET_CONNECT && k->kind != FG_NET_SEND)
		return 0;
	return fg_dns_egress_g(k, cfg->mode | (__u32)cfg->gen << 8 | (__u32)cfg->flags << 16, cgid,
			       r);
}
