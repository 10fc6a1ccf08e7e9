/* boot_files.h - between the controller's boot spec and the starter's. The
 * controller names every file qemu will use and as whom the node opens it
 * (docs/protocol.md: each disc's recorded chain, kernel, initrd, cdrom);
 * the node opens them (disk/disc_open.h) and the starter gets a spec that
 * names no path at all, only where each file is among the fds that come
 * with it. */
#pragma once

#include <jansson.h>

#include "disk/disc_open.h"

/* The files spec names, in the order their fds will be sent. */
int boot_files_from_spec(const json_t *spec, DiscFile *files, size_t max, size_t *ret_n, Error *err);

/* Rewrite spec for the starter: "discs" becomes [{"fds": [i, ...],
 * "writable": true}] (top first), "kernel"/"initrd"/"cdrom" become
 * "kernel_fd"/"initrd_fd"/"cdrom_fd"; i counts from first (the position of
 * the first file's fd in the message). The order is boot_files_from_spec's. */
void boot_files_for_starter(json_t *spec, size_t first);
