-- MySQL dump (sample, fictitious people)
/*!40101 SET NAMES utf8mb4 */;
DROP TABLE IF EXISTS `residents`;
CREATE TABLE `residents` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `first_name` varchar(50) DEFAULT NULL,
  `last_name` varchar(50) DEFAULT NULL,
  `dob` date DEFAULT NULL,
  `postcode` varchar(8) DEFAULT NULL,
  `email` varchar(100) DEFAULT NULL,
  `notes` text,
  PRIMARY KEY (`id`),
  KEY `idx_name` (`last_name`,`first_name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
LOCK TABLES `residents` WRITE;
INSERT INTO `residents` VALUES (1,'Jane','Doe','1980-02-03','SW1A 1AA','jane.doe@example.com','said \"hi\"; left'),(2,'Zoë','O\'Brien','1962-07-14','CR0 1AA',NULL,'line1\nline2'),(3,'Bill','Smith','1975-11-30','E1 6AN','bill@example.com','back\\slash');
UNLOCK TABLES;
CREATE TABLE `payments` (
  `resident_id` int(11) NOT NULL,
  `sort_code` char(8) DEFAULT NULL,
  `account_no` char(8) DEFAULT NULL,
  `paid_on` date DEFAULT NULL
);
INSERT INTO `payments` (`resident_id`,`sort_code`,`account_no`,`paid_on`) VALUES (1,'12-34-56','12345678','2019-04-01'),(3,'65-43-21','87654321','2019-04-02');
