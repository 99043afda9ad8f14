// Beside a "Bounce now" button when no SMARTHOST is configured: the DSN is made, but only kept
// for staff (DSNs page) instead of reaching the sender.
export function NoSmarthostWarning() {
  return (
    <p role="note" className="max-w-xs rounded-md bg-amber-50 px-3 py-2 text-xs text-amber-900 ring-1 ring-amber-200 ring-inset">
      No SMARTHOST is configured: the sender will not be told. The DSN is only kept for staff.
    </p>
  );
}
