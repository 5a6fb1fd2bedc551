/**
 * The DRSGetNCChanges options an engine (not a DC) uses (MS-DRSR 5.41 DRS_OPTIONS), as other
 * replication clients that read secrets send them:
 * - DRS_WRIT_REP (0x10): replicate as to a writable replica; without it a DC sends no secrets;
 * - DRS_INIT_SYNC (0x20): this is a requested sync, not one the DC scheduled itself.
 * Nothing that would make the DC keep state for us (DRS_ADD_REF, a repsTo entry) is asked for:
 * the engine is not a DC, and must leave no trace in the DC's replication topology.
 */
export const DRS_WRIT_REP = 0x10;
export const DRS_INIT_SYNC = 0x20;
export const REPLICATION_FLAGS = DRS_INIT_SYNC | DRS_WRIT_REP;
export const SINGLE_OBJECT_FLAGS = DRS_INIT_SYNC | DRS_WRIT_REP;

/** EXOP_REPL_OBJ (MS-DRSR 4.1.10.2.1 EXOP_REQ): replicate one object, named by pNC, whole. */
export const EXOP_REPL_OBJ = 6;
