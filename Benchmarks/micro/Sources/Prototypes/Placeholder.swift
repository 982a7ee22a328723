public enum PrototypesPlaceholder {}
