"""Reports: charts as inline SVG and self-contained HTML pages."""
