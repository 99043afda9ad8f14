// The "Customer" filter of the staff lists: the empty choice means every customer.
export function CustomerSelect({
  id,
  customers,
  defaultValue,
  className,
}: {
  id: string;
  customers: { id: string; name: string }[];
  defaultValue: string | undefined;
  className?: string;
}) {
  return (
    <div className={className}>
      <label htmlFor={id}>Customer</label>
      <select id={id} name="customerId" defaultValue={defaultValue ?? ""} className="mt-1">
        <option value="">All customers</option>
        {customers.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </select>
    </div>
  );
}
