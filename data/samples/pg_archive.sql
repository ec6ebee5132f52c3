--
-- PostgreSQL database dump (sample, fictitious people)
--
SET standard_conforming_strings = on;
CREATE TABLE public.tenants (
    tenant_id integer NOT NULL,
    full_name text,
    ni_number text,
    mobile text,
    tenancy_start date
);
COPY public.tenants (tenant_id, full_name, ni_number, mobile, tenancy_start) FROM stdin;
1	Jane Doe	QQ123456C	07700 900123	2012-06-01
2	Si\303\242n Evans	\N	07700900456	2015-01-20
3	Bill\tSmith	QQ654321A	\N	2018-09-09
\.
