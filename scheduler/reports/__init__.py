"""Reports out of the ledger: "Bảng theo dõi tình hình báo cáo" of one deadline or of a plan's
year, as .xlsx and .csv (tracking.py: the rows and their statuses; xlsx.py, csvfile.py: the files;
cells.py: what both write into a cell safely)."""
