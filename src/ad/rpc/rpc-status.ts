import { FatalError } from '../../errors.ts';

/**
 * Names for the numbers a DCE/RPC peer answers with, so a message says "nca_s_op_rng_error" and not
 * only 0x1c010002. Fault statuses: C706 appendix E (nca_s_*) and the Win32 errors that Windows and
 * Samba put in fault PDUs (Samba's librpc/idl/dcerpc.idl, DCERPC_FAULT_*).
 */
const FAULT_NAMES: ReadonlyMap<number, string> = new Map([
  [0x00000001, 'fault_other'],
  [0x00000005, 'access_denied'],
  [0x00000042, 'fault_todo'],
  [0x000006d8, 'cant_perform'],
  [0x000006f7, 'rpc_x_bad_stub_data'],
  [0x00000721, 'sec_pkg_error'],
  [0x1c000001, 'nca_s_fault_int_div_by_zero'],
  [0x1c000002, 'nca_s_fault_addr_error'],
  [0x1c000003, 'nca_s_fault_fp_div_zero'],
  [0x1c000004, 'nca_s_fault_fp_underflow'],
  [0x1c000005, 'nca_s_fault_fp_overflow'],
  [0x1c000006, 'nca_s_fault_invalid_tag'],
  [0x1c000007, 'nca_s_fault_invalid_bound'],
  [0x1c000008, 'nca_s_rpc_version_mismatch'],
  [0x1c000009, 'nca_s_unspec_reject'],
  [0x1c00000a, 'nca_s_bad_actid'],
  [0x1c00000b, 'nca_s_who_are_you_failed'],
  [0x1c00000c, 'nca_s_manager_not_entered'],
  [0x1c00000d, 'nca_s_fault_cancel'],
  [0x1c00000e, 'nca_s_fault_ill_inst'],
  [0x1c00000f, 'nca_s_fault_fp_error'],
  [0x1c000010, 'nca_s_fault_int_overflow'],
  [0x1c000012, 'nca_s_fault_unspec'],
  [0x1c000013, 'nca_s_fault_remote_comm_failure'],
  [0x1c000014, 'nca_s_fault_pipe_empty'],
  [0x1c000015, 'nca_s_fault_pipe_closed'],
  [0x1c000016, 'nca_s_fault_pipe_order'],
  [0x1c000017, 'nca_s_fault_pipe_discipline'],
  [0x1c000018, 'nca_s_fault_pipe_comm_error'],
  [0x1c000019, 'nca_s_fault_pipe_memory'],
  [0x1c00001a, 'nca_s_fault_context_mismatch'],
  [0x1c00001b, 'nca_s_fault_remote_no_memory'],
  [0x1c00001c, 'nca_s_invalid_pres_context_id'],
  [0x1c00001d, 'nca_s_unsupported_authn_level'],
  [0x1c00001f, 'nca_s_invalid_checksum'],
  [0x1c000020, 'nca_s_invalid_crc'],
  [0x1c000021, 'nca_s_fault_user_defined'],
  [0x1c000022, 'nca_s_fault_tx_open_failed'],
  [0x1c000023, 'nca_s_fault_codeset_conv_error'],
  [0x1c000024, 'nca_s_fault_object_not_found'],
  [0x1c000025, 'nca_s_fault_no_client_stub'],
  [0x1c010001, 'nca_s_comm_failure'],
  [0x1c010002, 'nca_s_op_rng_error'],
  [0x1c010003, 'nca_s_unk_if'],
  [0x1c010006, 'nca_s_wrong_boot_time'],
  [0x1c010009, 'nca_s_you_crashed'],
  [0x1c01000b, 'nca_s_proto_error'],
  [0x1c010013, 'nca_s_out_args_too_big'],
  [0x1c010014, 'nca_s_server_too_busy'],
  [0x1c010015, 'nca_s_fault_string_too_long'],
  [0x1c010017, 'nca_s_unsupported_type'],
  // The endpoint mapper's "no such endpoint" (ept_s_not_registered), returned as ept_map's status.
  [0x16c9a0d6, 'ept_s_not_registered'],
]);

/** The well-known fault statuses by name, for callers that test for one. */
export const RPC_STATUS = Object.freeze({
  ACCESS_DENIED: 0x00000005,
  SEC_PKG_ERROR: 0x00000721,
  NCA_S_OP_RNG_ERROR: 0x1c010002,
  NCA_S_UNK_IF: 0x1c010003,
  NCA_S_PROTO_ERROR: 0x1c01000b,
  NCA_S_FAULT_REMOTE_NO_MEMORY: 0x1c00001b,
  EPT_S_NOT_REGISTERED: 0x16c9a0d6,
});

/** bind_nak provider_reject_reason (C706 12.6.3.9, MS-RPCE 2.2.2.5 adds 8 and 9). */
const BIND_NAK_REASONS = [
  'reason not specified',
  'temporary congestion',
  'local limit exceeded',
  'called presentation address unknown',
  'protocol version not supported',
  'default context not supported',
  'user data not readable',
  'no presentation service access point available',
  'authentication type not recognized',
  'invalid checksum',
];

/** p_result_t result and reason in a bind_ack (C706 12.6.3.1). */
const CONTEXT_RESULTS = ['acceptance', 'user rejection', 'provider rejection', 'negotiate ack'];
const CONTEXT_REASONS = ['reason not specified', 'abstract syntax not supported', 'proposed transfer syntaxes not supported', 'local limit exceeded'];

export function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/** "0x1c010002 (nca_s_op_rng_error)", or only the hex for a status we have no name for. */
export function describeRpcStatus(status: number): string {
  const name = FAULT_NAMES.get(status >>> 0);
  return name === undefined ? hex32(status) : `${hex32(status)} (${name})`;
}

export function describeBindNakReason(reason: number): string {
  return `${BIND_NAK_REASONS[reason] ?? 'unknown reason'} (${reason})`;
}

export function describeContextResult(result: number, reason: number): string {
  return `${CONTEXT_RESULTS[result] ?? `result ${result}`}: ${CONTEXT_REASONS[reason] ?? 'unknown reason'} (${reason})`;
}

/**
 * A fault the server answered a call with. `status` is the fault's status, for callers that decide by
 * it (access denied versus a bad request); the code is RPC_FAULT, or RPC_AUTH_FAILED when the fault
 * is how the server said our authentication was refused.
 */
export class RpcFaultError extends FatalError {
  override name = 'RpcFaultError';
  readonly status: number;

  constructor(code: string, status: number, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.status = status >>> 0;
  }
}
