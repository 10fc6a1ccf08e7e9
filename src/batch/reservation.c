/* reservation.c - which batch backend makes reservations (reservation.h). */
#include "batch/reservation.h"

extern const BatchReserver batch_slurm_reserver;

const BatchReserver *batch_reserver_find(const char *backend) {
        /* Grid Engine: none yet (sge_ar.h has its command lines; vmbatch-exam(1) says why) */
        static const BatchReserver *const all[] = {&batch_slurm_reserver};
        for (size_t i = 0; backend && i < ELEMENTSOF(all); i++)
                if (streq(all[i]->backend, backend))
                        return all[i];
        return NULL;
}
