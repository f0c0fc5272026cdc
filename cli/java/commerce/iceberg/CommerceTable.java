package commerce.iceberg;

import java.util.Map;
import java.util.Set;
import org.apache.iceberg.spark.source.SparkTable;
import org.apache.spark.sql.connector.catalog.CatalogV2Util;
import org.apache.spark.sql.connector.catalog.Column;
import org.apache.spark.sql.connector.catalog.SupportsDeleteV2;
import org.apache.spark.sql.connector.catalog.SupportsRead;
import org.apache.spark.sql.connector.catalog.SupportsWrite;
import org.apache.spark.sql.connector.catalog.TableCapability;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.connector.expressions.filter.Predicate;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.connector.write.LogicalWriteInfo;
import org.apache.spark.sql.connector.write.WriteBuilder;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/**
 * Iceberg's `SparkTable` with the column list Spark 4.2 builds (`BaseSparkTable.columns()`
 * calls a `CatalogV2Util` method 4.2 no longer has): reads, appends, overwrites and
 * whole-file deletes go to Iceberg's own code.
 */
final class CommerceTable implements SupportsRead, SupportsWrite, SupportsDeleteV2 {
  private final SparkTable table;

  CommerceTable(SparkTable table) { this.table = table; }

  @Override public String name() { return table.name(); }
  @Override public StructType schema() { return table.schema(); }
  @Override public Column[] columns() { return CatalogV2Util.structTypeToV2Columns(schema(), false); }
  @Override public Transform[] partitioning() { return table.partitioning(); }
  @Override public Map<String, String> properties() { return table.properties(); }
  @Override public Set<TableCapability> capabilities() { return table.capabilities(); }
  @Override public ScanBuilder newScanBuilder(CaseInsensitiveStringMap options) {
    return table.newScanBuilder(options);
  }
  @Override public WriteBuilder newWriteBuilder(LogicalWriteInfo info) {
    return table.newWriteBuilder(info);
  }
  @Override public boolean canDeleteWhere(Predicate[] predicates) {
    return table.canDeleteWhere(predicates);
  }
  @Override public void deleteWhere(Predicate[] predicates) { table.deleteWhere(predicates); }
}
