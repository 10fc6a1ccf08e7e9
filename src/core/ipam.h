/* ipam.h - IPv4 ranges of VM groups and the paper's address plan: a VM's
 * MAC is de:af:de:af followed by the last 16 bits of its IP
 * (192.168.100.2 -> de:af:de:af:64:02). Pure functions. */
#pragma once

#include "basic/util.h"

int ipv4_parse(const char *s, uint32_t *ret);           /* dotted quad, strict */
void ipv4_format(uint32_t ip, char buf[16]);
/* "a.b.c.d-e.f.g.h" with first <= last */
int iprange_parse(const char *s, uint32_t *ret_first, uint32_t *ret_last);
void mac_from_ip(uint32_t ip, char buf[18]);

/* Lowest address in [first, last] that is not in used (sorted ascending)
 * and for which mac_taken (may be NULL) says no. -ENOSPC when the range is
 * exhausted. */
typedef bool (*ipam_mac_taken_fn)(const char *mac, void *userdata);
int ipam_next_free(uint32_t first, uint32_t last, const uint32_t *used, size_t n_used, ipam_mac_taken_fn mac_taken,
                   void *userdata, uint32_t *ret);
