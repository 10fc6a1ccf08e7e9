#include "core/ipam.h"

#include <ctype.h>
#include <stdio.h>

int ipv4_parse(const char *s, uint32_t *ret) {
        uint32_t ip = 0;
        const char *p = s;
        for (int i = 0; i < 4; i++) {
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                unsigned v = 0;
                int digits = 0;
                while (isdigit((unsigned char)*p)) {
                        v = v * 10 + (unsigned)(*p++ - '0');
                        if (++digits > 3 || v > 255)
                                return -EINVAL;
                }
                if (digits > 1 && p[-digits] == '0')
                        return -EINVAL; /* no leading zeros: 010 is ambiguous (octal) */
                ip = (ip << 8) | v;
                if (i < 3 && *p++ != '.')
                        return -EINVAL;
        }
        if (*p)
                return -EINVAL;
        *ret = ip;
        return 0;
}

void ipv4_format(uint32_t ip, char buf[16]) {
        snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int iprange_parse(const char *s, uint32_t *ret_first, uint32_t *ret_last) {
        const char *dash = strchr(s, '-');
        if (!dash || dash - s > 15)
                return -EINVAL;
        char a[16];
        memcpy(a, s, (size_t)(dash - s));
        a[dash - s] = 0;
        uint32_t first, last;
        if (ipv4_parse(a, &first) < 0 || ipv4_parse(dash + 1, &last) < 0)
                return -EINVAL;
        if (first > last)
                return -ERANGE;
        *ret_first = first;
        *ret_last = last;
        return 0;
}

void mac_from_ip(uint32_t ip, char buf[18]) {
        snprintf(buf, 18, "de:af:de:af:%02x:%02x", (ip >> 8) & 255, ip & 255);
}

int ipam_next_free(uint32_t first, uint32_t last, const uint32_t *used, size_t n_used, ipam_mac_taken_fn mac_taken,
                   void *userdata, uint32_t *ret) {
        size_t u = 0;
        for (uint64_t ip = first; ip <= last; ip++) {
                while (u < n_used && used[u] < ip)
                        u++;
                if (u < n_used && used[u] == ip)
                        continue;
                if (mac_taken) {
                        char mac[18];
                        mac_from_ip((uint32_t)ip, mac);
                        if (mac_taken(mac, userdata))
                                continue;
                }
                *ret = (uint32_t)ip;
                return 0;
        }
        return -ENOSPC;
}
