/* placements.c - which host holds which instance's monitor. See
 * placements.h. */
#include "daemon/placements.h"

#include <stdio.h>

#include "basic/util.h"

typedef struct Placement {
        uint32_t instance;
        FleetNode *node;
} Placement;

/* when a host (by name) last came or went */
typedef struct HostChange {
        char name[256];
        uint64_t usec;
} HostChange;

struct Placements {
        uint64_t grace_usec;
        FleetNode *nodes;
        Placement *placed;
        size_t n_placed;
        HostChange *changes;
        size_t n_changes;
};

Placements *placements_new(uint32_t grace_s) {
        Placements *p = xcalloc(1, sizeof(*p));
        p->grace_usec = (uint64_t)grace_s * 1000000;
        return p;
}

void placements_free(Placements *p) {
        if (!p)
                return;
        while (p->nodes) {
                FleetNode *n = p->nodes;
                p->nodes = n->next;
                free(n);
        }
        free(p->placed);
        free(p->changes);
        free(p);
}

static void host_changed(Placements *p, const char *name) {
        for (size_t i = 0; i < p->n_changes; i++)
                if (streq(p->changes[i].name, name)) {
                        p->changes[i].usec = now_usec();
                        return;
                }
        p->changes = xrealloc(p->changes, (p->n_changes + 1) * sizeof(HostChange));
        HostChange *c = &p->changes[p->n_changes++];
        snprintf(c->name, sizeof(c->name), "%s", name);
        c->usec = now_usec();
}

bool placements_host_changed_recently(Placements *p, const char *name) {
        for (size_t i = 0; i < p->n_changes; i++)
                if (streq(p->changes[i].name, name))
                        return now_usec() - p->changes[i].usec < p->grace_usec;
        return false;
}

FleetNode *placements_node_by_name(Placements *p, const char *name) {
        for (FleetNode *n = p->nodes; n; n = n->next)
                if (streq(n->name, name))
                        return n;
        return NULL;
}

FleetNode *placements_node_add(Placements *p, const char *name, const NodeOps *ops, void *data, bool *ret_replaced) {
        FleetNode *old = placements_node_by_name(p, name);
        *ret_replaced = old != NULL;
        if (old)
                placements_node_remove(p, old);
        FleetNode *n = xcalloc(1, sizeof(*n));
        snprintf(n->name, sizeof(n->name), "%s", name);
        n->ops = ops;
        n->data = data;
        n->next = p->nodes;
        p->nodes = n;
        host_changed(p, name);
        return n;
}

void placements_node_remove(Placements *p, FleetNode *node) {
        for (FleetNode **n = &p->nodes; *n; n = &(*n)->next)
                if (*n == node) {
                        *n = node->next;
                        break;
                }
        for (size_t i = 0; i < p->n_placed;)
                if (p->placed[i].node == node)
                        p->placed[i] = p->placed[--p->n_placed];
                else
                        i++;
        host_changed(p, node->name);
        free(node);
}

static Placement *find(Placements *p, uint32_t instance) {
        for (size_t i = 0; i < p->n_placed; i++)
                if (p->placed[i].instance == instance)
                        return &p->placed[i];
        return NULL;
}

FleetNode *placements_of(Placements *p, uint32_t instance) {
        Placement *pl = find(p, instance);
        return pl ? pl->node : NULL;
}

void placements_set(Placements *p, uint32_t instance, FleetNode *node) {
        Placement *pl = find(p, instance);
        if (pl) {
                pl->node = node;
                return;
        }
        p->placed = xrealloc(p->placed, (p->n_placed + 1) * sizeof(Placement));
        p->placed[p->n_placed++] = (Placement){instance, node};
}

void placements_drop(Placements *p, uint32_t instance) {
        Placement *pl = find(p, instance);
        if (pl)
                *pl = p->placed[--p->n_placed];
}
