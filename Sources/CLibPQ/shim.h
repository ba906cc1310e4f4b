#ifndef MEDSETTLE_CLIBPQ_SHIM_H
#define MEDSETTLE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
