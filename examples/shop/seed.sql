-- Sample data for the demo: 1,000 customers with their orders, items, addresses and tags.
SELECT shop_seed(1000);
